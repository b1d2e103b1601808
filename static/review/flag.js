// Flagging, a review page plugin (docs/review-plugins.md, docs/escalation.md).
//
//   import { install } from "./flag.js";  install(review);   // → the FlagPlugin
//
// Alt+X (or the panel's button) opens the flag dialog for the clip under review:
// a category (keys 1–9, by its number), a severity (preset from the category), an optional
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
//   GET  /cases/api/receipts   → {receipts: [{flag_id, case_id, flagged_at, flagged_at_text, category, category_label,
//                                 severity, state, state_label, handled, closed, updated_at}],
//                                 break_minutes, break_until}
//   POST /cases/care/break     → {break_until}   (the reviewer's held clips go back to the queue)
//   GET  /cases/care/          the reviewer's page: receipts, break, opt-out of distressing queues

import { pollReceipts, renderReceipts } from "../escalation/receipts.js";
import { el, linkStylesheet } from "./dom.js";
import { clock } from "./format.js";
import { t, tf } from "./i18n.js";

export const FLAG_COMBO = "Alt+X";

/** The dialog: the categories (by number) and severities come from the server (review.config("flag")). */
function buildDialog({ categories: choices, severities: levels }) {
  const categories = el(
    "ol",
    { class: "choices", id: "flag-categories" },
    ...choices.map((c, i) =>
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
    { class: "severity", role: "radiogroup", "aria-label": t("Severity") },
    ...levels.map((s) => el("label", {}, el("input", { type: "radio", name: "flag-severity", value: s.value }), s.label)),
  );
  return el(
    "dialog",
    { id: "flag-dialog", class: "dialog flag-dialog", "aria-labelledby": "flag-title" },
    el(
      "form",
      { method: "dialog", id: "flag-form", novalidate: true },
      el("h2", { id: "flag-title", text: t("Flag this clip") }),
      el("p", {
        class: "muted small",
        text: t("It leaves every queue at once and an escalation officer is alerted. What you typed so far is kept with it."),
      }),
      el("fieldset", {}, el("legend", { class: "field-label", text: t("What did you hear? (press its number)") }), categories),
      el("fieldset", {}, el("legend", { class: "field-label", text: t("How urgent?") }), severities),
      el("label", { for: "flag-note", text: t("Note for the officer (optional)") }),
      el("textarea", { id: "flag-note", rows: "3", maxlength: "4000", autocomplete: "off" }),
      el(
        "label",
        { class: "inline-label" },
        el("input", { type: "checkbox", id: "flag-moment-on", checked: true }),
        ` ${t("It happens at")} `,
        el("span", { id: "flag-moment", text: "0:00.0" }),
      ),
      el("p", { id: "flag-error", class: "error", role: "alert", hidden: true }),
      el(
        "p",
        { class: "dialog-actions" },
        el("button", { type: "button", id: "flag-submit", class: "primary" }, `${t("Flag and alert an officer")} `, el("kbd", { text: "Ctrl+Enter" })),
        el("button", { value: "cancel" }, `${t("Cancel")} `, el("kbd", { text: "Esc" })),
      ),
    ),
  );
}

/** The flag button, the receipts and the break offer in the side panel, and the flag dialog. */
export class FlagPlugin {
  constructor(review) {
    this.review = review;
    this.config = review.config("flag");
    this.urls = this.config.urls;
    this.moment = null;
    this.severityTouched = false;
    this.sending = false;
    this.stopPolling = null;
    linkStylesheet(new URL("../escalation/escalation.css", import.meta.url).href, "escalation");
    this.dialog = buildDialog(this.config);
    document.body.append(this.dialog);
    this.buildPanel();
    this.startPolling();
    this.wire();
  }

  find(id) {
    return this.dialog.querySelector(`#${id}`);
  }

  // --- the side panel: a button, the break offer, the receipts -------------------------------

  buildPanel() {
    const panel = this.review.panel("flags", t("Flags"));
    panel.classList.add("flag-care");
    this.flagButton = el(
      "button",
      { type: "button", class: "danger", id: "flag-open" },
      `${t("Flag this clip…")} `,
      el("kbd", { text: FLAG_COMBO }),
    );
    // The offer floats over the page: the side column is hidden once the queue is empty.
    this.offer = el("div", { class: "break-offer flag-toast", id: "break-offer", role: "status", hidden: true });
    document.body.append(this.offer);
    this.tbody = el("tbody", { id: "flag-receipts" });
    this.receipts = el(
      "table",
      { class: "list receipts", hidden: true },
      el("thead", {}, el("tr", {}, el("th", { text: t("Flagged") }), el("th", { text: t("What") }), el("th", { text: t("Now") }))),
      this.tbody,
    );
    panel.append(
      this.flagButton,
      this.receipts,
      el("p", { class: "small" }, el("a", { href: this.urls.care, text: t("Your flags and breaks") })),
    );
  }

  showReceipts(data) {
    this.receipts.hidden = data.receipts.length === 0;
    renderReceipts(this.tbody, data.receipts.slice(0, 5));
  }

  startPolling() {
    if (this.stopPolling) this.stopPolling();
    this.stopPolling = pollReceipts((data) => this.showReceipts(data), { url: this.urls.receipts, ms: 10_000 });
  }

  offerBreak(minutes) {
    const take = el("button", { type: "button", class: "primary", id: "take-break" }, tf("Take a %(minutes)s-minute break", { minutes }));
    const later = el("button", { type: "button" }, t("Not now"));
    this.offer.replaceChildren(
      el("p", { text: t("Thank you for flagging it. That may have been hard to hear — take a break if you need one.") }),
      el("p", {}, take, " ", later),
    );
    this.offer.hidden = false;
    take.addEventListener("click", async () => {
      const res = await this.review.api.post(this.urls.break, {});
      if (res.ok) window.location.assign(this.urls.care);
      else this.review.status(res.data.error || t("Could not start the break"), "error");
    });
    later.addEventListener("click", () => {
      this.offer.hidden = true;
    });
  }

  // --- the dialog ----------------------------------------------------------------------------------

  setSeverity(value) {
    for (const input of this.dialog.querySelectorAll("input[name=flag-severity]")) input.checked = input.value === value;
  }

  category() {
    return this.dialog.querySelector("input[name=flag-category]:checked")?.value || "";
  }

  severity() {
    return this.dialog.querySelector("input[name=flag-severity]:checked")?.value || "";
  }

  showError(message) {
    this.find("flag-error").textContent = message;
    this.find("flag-error").hidden = !message;
  }

  open() {
    const { review } = this;
    const current = review.current();
    if (!current) {
      review.status(t("There is no clip to flag."), "error");
      return;
    }
    review.player.pause();
    const at = review.player.currentTime();
    this.moment = Number.isFinite(at) ? Math.round(at * 10) / 10 : null;
    this.find("flag-moment").textContent = this.moment === null ? "—" : clock(this.moment);
    this.find("flag-moment-on").checked = this.moment !== null && this.moment > 0;
    for (const input of this.dialog.querySelectorAll("input[type=radio]")) input.checked = false;
    this.find("flag-note").value = "";
    this.severityTouched = false;
    this.showError("");
    this.dialog.showModal();
    this.dialog.querySelector("input[name=flag-category]").focus();
  }

  async submit() {
    const { review } = this;
    if (this.sending) return;
    const current = review.current();
    if (!current) return;
    if (!this.category()) {
      this.showError(tf("Choose what you heard (1–%(n)s).", { n: this.config.categories.length }));
      return;
    }
    this.sending = true;
    this.find("flag-submit").disabled = true;
    const body = {
      task_id: current.task_id,
      category: this.category(),
      severity: this.severity(),
      note: this.find("flag-note").value,
      moment_seconds: this.find("flag-moment-on").checked ? this.moment : null,
      draft: review.draft(),
    };
    const res = await review.api.post(this.urls.flag, body);
    this.sending = false;
    this.find("flag-submit").disabled = false;
    if (res.status === 201 || res.status === 200) {
      this.dialog.close();
      review.status(res.data.message, "ok");
      review.advance();
      this.offerBreak(res.data.break_minutes);
      this.startPolling();
    } else if (res.status === 409) {
      this.dialog.close();
      review.status(res.data.error || t("This clip is no longer yours to flag."), "error");
      review.advance();
    } else {
      this.showError(res.data.error || tf("The flag did not go through (%(why)s): try again.", { why: res.status || t("no connection") }));
    }
  }

  wire() {
    const { dialog, review } = this;
    dialog.addEventListener("change", (event) => {
      const input = event.target;
      if (input.name === "flag-category" && !this.severityTouched) this.setSeverity(input.dataset.severity);
      if (input.name === "flag-severity") this.severityTouched = true;
    });
    dialog.addEventListener("keydown", (event) => {
      const typing = event.target.tagName === "TEXTAREA";
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.submit();
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
    this.find("flag-submit").addEventListener("click", () => this.submit());
    this.flagButton.addEventListener("click", () => this.open());
    review.keys.register({
      combo: FLAG_COMBO,
      label: t("Flag… (someone may be at risk, or it is distressing)"),
      group: "Clip",
      run: () => {
        this.review.reveal?.("flags"); // the panel (receipts, break) into view in the side column
        this.open();
      },
    });
    review.onClipChange((payload) => {
      this.flagButton.disabled = !payload;
    });
  }
}

/** The plugin entry point (docs/review-plugins.md). */
export function install(review) {
  return new FlagPlugin(review);
}
