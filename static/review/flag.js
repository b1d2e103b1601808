// Flagging, a review page plugin (docs/review-plugins.md, docs/escalation.md).
//
//   import { install as installFlag } from "./flag.js";  installFlag(review);
//
// Alt+X (or the panel's button) opens the flag dialog for the clip under review:
// a category (keys 1–7), a severity (preset from the category), an optional
// note and the moment in the clip (where playback paused). Submitting posts
// to the flag endpoint with the reviewer's annotation so far (review.draft()):
// the clip leaves every queue at once, a case opens, officers are alerted. The
// page then moves on (review.advance()), the side panel shows the receipt —
// the case's state, polled — and offers a break.
//
// Endpoints (annotate/escalation/urls.py), reached through review.config("flag").urls
// (annotate/escalation/templatetags/escalation_review.py), with the categories and severities:
//   POST /cases/api/flags      {task_id, category, severity, note, moment_seconds, draft}
//                              → 201 {receipt, message, break_minutes, urls} (200: already flagged, same body)
//                                | 400 {error} | 409 {error}
//   GET  /cases/api/receipts   → {receipts: [{flag_id, case_id, flagged_at, category, category_label,
//                                 severity, state, state_label, handled, closed, updated_at}],
//                                 break_minutes, break_until}
//   POST /cases/care/break     → {break_until}   (the reviewer's held clips go back to the queue)
//   GET  /cases/care/          the reviewer's page: receipts, break, opt-out of distressing queues

import { pollReceipts, renderReceipts } from "../escalation/receipts.js";

export const FLAG_COMBO = "Alt+X";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children);
  return node;
}

function ensureStyles() {
  if (document.querySelector("link[data-flag-css]")) return;
  const link = el("link", { rel: "stylesheet", href: new URL("../escalation/escalation.css", import.meta.url).href });
  link.dataset.flagCss = "";
  document.head.append(link);
}

function clock(seconds) {
  const s = Math.max(0, seconds);
  return `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, "0")}`;
}

function buildDialog({ categories: CATEGORIES, severities: SEVERITIES }) {
  const categories = el(
    "ol",
    { class: "choices", id: "flag-categories" },
    ...CATEGORIES.map((c, i) =>
      el(
        "li",
        {},
        el(
          "label",
          {},
          el("input", { type: "radio", name: "flag-category", value: c.value, "data-severity": c.severity }),
          el("kbd", { text: String(i + 1) }),
          c.label,
        ),
      ),
    ),
  );
  const severities = el(
    "div",
    { class: "severity", role: "radiogroup", "aria-label": "Severity" },
    ...SEVERITIES.map((s) => el("label", {}, el("input", { type: "radio", name: "flag-severity", value: s.value }), s.label)),
  );
  return el(
    "dialog",
    { id: "flag-dialog", class: "dialog flag-dialog", "aria-labelledby": "flag-title" },
    el(
      "form",
      { method: "dialog", id: "flag-form", novalidate: true },
      el("h2", { id: "flag-title", text: "Flag this clip" }),
      el("p", {
        class: "muted small",
        text: "It leaves every queue at once and an escalation officer is alerted. What you typed so far is kept with it.",
      }),
      el("fieldset", {}, el("legend", { class: "field-label", text: "What did you hear? (press its number)" }), categories),
      el("fieldset", {}, el("legend", { class: "field-label", text: "How urgent?" }), severities),
      el("label", { for: "flag-note", text: "Note for the officer (optional)" }),
      el("textarea", { id: "flag-note", rows: "3", maxlength: "4000", autocomplete: "off" }),
      el(
        "label",
        { class: "inline-label" },
        el("input", { type: "checkbox", id: "flag-moment-on", checked: true }),
        " It happens at ",
        el("span", { id: "flag-moment", text: "0:00.0" }),
      ),
      el("p", { id: "flag-error", class: "error", role: "alert", hidden: true }),
      el(
        "p",
        { class: "dialog-actions" },
        el("button", { type: "button", id: "flag-submit", class: "primary" }, "Flag and alert an officer ", el("kbd", { text: "Ctrl+Enter" })),
        el("button", { value: "cancel" }, "Cancel ", el("kbd", { text: "Esc" })),
      ),
    ),
  );
}

export function install(review) {
  const config = review.config("flag");
  const { urls } = config;
  ensureStyles();
  const dialog = buildDialog(config);
  document.body.append(dialog);
  const $ = (id) => dialog.querySelector(`#${id}`);
  let moment = null;
  let severityTouched = false;
  let sending = false;
  let stopPolling = null;

  // --- the side panel: a button, the break offer, the receipts -------------------------------
  const panel = review.panel("flags", "Flags");
  panel.classList.add("flag-care");
  const flagButton = el("button", { type: "button", class: "danger", id: "flag-open" }, "Flag this clip… ", el("kbd", { text: FLAG_COMBO }));
  // The offer floats over the page: the side column is hidden once the queue is empty.
  const offer = el("div", { class: "break-offer flag-toast", id: "break-offer", role: "status", hidden: true });
  document.body.append(offer);
  const tbody = el("tbody", { id: "flag-receipts" });
  const receipts = el(
    "table",
    { class: "list receipts", hidden: true },
    el("thead", {}, el("tr", {}, el("th", { text: "Flagged" }), el("th", { text: "What" }), el("th", { text: "Now" }))),
    tbody,
  );
  panel.append(flagButton, receipts, el("p", { class: "small" }, el("a", { href: urls.care, text: "Your flags and breaks" })));

  function showReceipts(data) {
    receipts.hidden = data.receipts.length === 0;
    renderReceipts(tbody, data.receipts.slice(0, 5));
  }
  function startPolling() {
    if (stopPolling) stopPolling();
    stopPolling = pollReceipts(showReceipts, { url: urls.receipts, ms: 10_000 });
  }
  startPolling();

  function offerBreak(minutes) {
    const take = el("button", { type: "button", class: "primary", id: "take-break" }, `Take a ${minutes}-minute break`);
    const later = el("button", { type: "button" }, "Not now");
    offer.replaceChildren(
      el("p", { text: "Thank you for flagging it. That may have been hard to hear — take a break if you need one." }),
      el("p", {}, take, " ", later),
    );
    offer.hidden = false;
    take.addEventListener("click", async () => {
      const res = await review.api.post(urls.break, {});
      if (res.ok) window.location.assign(urls.care);
      else review.status(res.data.error || "Could not start the break", "error");
    });
    later.addEventListener("click", () => {
      offer.hidden = true;
    });
  }

  // --- the dialog ----------------------------------------------------------------------------------
  function setSeverity(value) {
    for (const input of dialog.querySelectorAll("input[name=flag-severity]")) input.checked = input.value === value;
  }
  function category() {
    return dialog.querySelector("input[name=flag-category]:checked")?.value || "";
  }
  function severity() {
    return dialog.querySelector("input[name=flag-severity]:checked")?.value || "";
  }
  function showError(message) {
    $("flag-error").textContent = message;
    $("flag-error").hidden = !message;
  }

  function open() {
    const current = review.current();
    if (!current) {
      review.status("There is no clip to flag.", "error");
      return;
    }
    review.player.pause();
    const at = review.player.currentTime();
    moment = Number.isFinite(at) ? Math.round(at * 10) / 10 : null;
    $("flag-moment").textContent = moment === null ? "—" : clock(moment);
    $("flag-moment-on").checked = moment !== null && moment > 0;
    for (const input of dialog.querySelectorAll("input[type=radio]")) input.checked = false;
    $("flag-note").value = "";
    severityTouched = false;
    showError("");
    dialog.showModal();
    dialog.querySelector("input[name=flag-category]").focus();
  }

  async function submit() {
    if (sending) return;
    const current = review.current();
    if (!current) return;
    if (!category()) {
      showError(`Choose what you heard (1–${config.categories.length}).`);
      return;
    }
    sending = true;
    $("flag-submit").disabled = true;
    const body = {
      task_id: current.task_id,
      category: category(),
      severity: severity(),
      note: $("flag-note").value,
      moment_seconds: $("flag-moment-on").checked ? moment : null,
      draft: review.draft(),
    };
    const res = await review.api.post(urls.flag, body);
    sending = false;
    $("flag-submit").disabled = false;
    if (res.status === 201 || res.status === 200) {
      dialog.close();
      review.status(res.data.message, "ok");
      review.advance();
      offerBreak(res.data.break_minutes);
      startPolling();
    } else if (res.status === 409) {
      dialog.close();
      review.status(res.data.error || "This clip is no longer yours to flag.", "error");
      review.advance();
    } else {
      showError(res.data.error || `The flag did not go through (${res.status || "no connection"}): try again.`);
    }
  }

  dialog.addEventListener("change", (event) => {
    const input = event.target;
    if (input.name === "flag-category" && !severityTouched) setSeverity(input.dataset.severity);
    if (input.name === "flag-severity") severityTouched = true;
  });
  dialog.addEventListener("keydown", (event) => {
    const typing = event.target.tagName === "TEXTAREA";
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
      return;
    }
    const inputs = dialog.querySelectorAll("input[name=flag-category]");
    if (!typing && !event.altKey && !event.ctrlKey && /^[1-9]$/.test(event.key) && Number(event.key) <= inputs.length) {
      event.preventDefault();
      const input = inputs[Number(event.key) - 1];
      input.checked = true;
      input.focus();
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    event.stopPropagation(); // the page's own keys stay out of the dialog
  });
  $("flag-submit").addEventListener("click", submit);
  flagButton.addEventListener("click", open);
  review.keys.register({ combo: FLAG_COMBO, label: "Flag… (someone may be at risk, or it is distressing)", group: "Clip", run: open });
  review.onClipChange((payload) => {
    flagButton.disabled = !payload;
  });
  return { open, submit };
}
