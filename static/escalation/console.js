// The officer console: open cases, most severe first, live over ws/cases/.
// A new case appears at once with a banner and a beep; a case past its
// deadline turns red and is announced again (client timer every second, and the
// server's `notify_overdue` re-notification). While the socket is down the list
// is refreshed from /cases/api/open every 15 seconds. A case this console never
// showed before, found in such a refresh or in the list the server sends after a
// reconnect, is announced like a new one: its broadcast was missed in the gap.

import { Beeper, LiveSocket, span } from "./alerts.js";
import { t, tf } from "../review/i18n.js";

const $ = (id) => document.getElementById(id);
const state = JSON.parse($("console-state").textContent);
const root = $("console");
const rows = $("case-rows");
const beeper = new Beeper();
const cases = new Map();
const overdueAnnounced = new Map(); // case id -> time of the last overdue alert (ms)
const known = new Set(); // ids of every case this console has shown or announced
const REANNOUNCE_MS = 5 * 60_000;
// Asks the server for the full list now and then, which also renews this socket's
// place in the officers' group (channels_redis drops group members after a day).
const REFRESH_MS = 10 * 60_000;
let skewMs = Date.parse(state.now) - Date.now(); // server clock minus ours
let pollTimer = null;
let alerts = 0;

function serverNow() {
  return Date.now() + skewMs;
}

/** Show `list` as the open cases; announce those never seen before unless `quiet`. */
function setCases(list, { quiet = false } = {}) {
  const missed = list.filter((c) => !known.has(c.id));
  cases.clear();
  for (const c of list) {
    cases.set(c.id, c);
    known.add(c.id);
  }
  render();
  if (!quiet) announceMissed(missed);
}

function markFresh(id) {
  const tr = rows.querySelector(`tr[data-case-id="${id}"]`);
  if (tr) tr.classList.add("fresh");
}

/** Cases that opened while this console was not listening: one banner and beep for all. */
function announceMissed(missed) {
  if (!missed.length) return;
  for (const c of missed) markFresh(c.id);
  const worst = missed.reduce((a, b) => (b.severity_rank < a.severity_rank ? b : a));
  const message =
    missed.length === 1
      ? tf("New %(severity)s case %(id)s: %(category)s.", { severity: worst.severity_label, id: worst.id, category: worst.category_label })
      : tf("%(n)s new cases while the connection was down; the most severe: %(severity)s case %(id)s.", { n: missed.length, severity: worst.severity_label, id: worst.id });
  announce(message, worst.severity);
}

function sorted() {
  return [...cases.values()].sort(
    (a, b) =>
      a.severity_rank - b.severity_rank ||
      (a.due_at ? Date.parse(a.due_at) : Infinity) - (b.due_at ? Date.parse(b.due_at) : Infinity) ||
      a.id - b.id,
  );
}

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function row(c) {
  const tr = document.createElement("tr");
  tr.dataset.caseId = c.id;
  tr.dataset.state = c.state;
  tr.className = `case sev-${c.severity}`;
  const sev = document.createElement("td");
  const badge = document.createElement("span");
  badge.className = `badge sev-${c.severity}`;
  badge.textContent = c.severity_label || c.severity;
  sev.append(badge);
  const link = document.createElement("a");
  link.href = c.url;
  link.textContent = tf("Case %(id)s", { id: c.id });
  const idCell = document.createElement("td");
  idCell.append(link);
  const stateCell = cell(c.state_label);
  if (c.pending_unseal) {
    const pending = document.createElement("span");
    pending.className = "badge pending";
    pending.textContent = t("unsealing to approve");
    stateCell.append(" ", pending);
  }
  const deadline = cell("", "deadline");
  deadline.dataset.due = c.due_at || "";
  deadline.dataset.stage = c.stage || "";
  const open = document.createElement("td");
  if (c.state === "new") {
    // Acknowledges (a POST: the transition, audited), then opens the case.
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "button";
    button.setAttribute("form", "acknowledge-form");
    button.formAction = c.acknowledge_url;
    button.textContent = t("Open and acknowledge");
    open.append(button);
  } else {
    const link = document.createElement("a");
    link.className = "button";
    link.href = c.url;
    link.textContent = t("Open");
    open.append(link);
  }
  tr.append(sev, idCell, cell(c.category_label), stateCell, deadline, cell(c.owner || "—"), cell(String(c.flags), "num"), open);
  return tr;
}

function render() {
  const fresh = new Set([...rows.querySelectorAll("tr.fresh")].map((tr) => Number(tr.dataset.caseId)));
  rows.replaceChildren(...sorted().map(row));
  for (const tr of rows.children) if (fresh.has(Number(tr.dataset.caseId))) tr.classList.add("fresh");
  $("no-cases").hidden = cases.size > 0;
  tick();
  updateTitle();
}

function updateTitle() {
  const waiting = [...cases.values()].filter((c) => c.state === "new").length;
  document.title = `${waiting ? `(${waiting}) ` : ""}${t("Cases")} · annotate`;
}

const STAGE = { acknowledge: t("acknowledge"), decide: t("decide"), close: t("close") };

function tick() {
  const now = serverNow();
  for (const tr of rows.children) {
    const td = tr.querySelector(".deadline");
    if (!td || !td.dataset.due) continue;
    const left = (Date.parse(td.dataset.due) - now) / 1000;
    const stage = STAGE[td.dataset.stage] || t("act");
    const id = Number(tr.dataset.caseId);
    if (left < 0) {
      td.textContent = tf("%(stage)s: overdue by %(time)s", { stage, time: span(-left) });
      if (!tr.classList.contains("overdue")) tr.classList.add("overdue");
      const last = overdueAnnounced.get(id) || 0;
      if (Date.now() - last > REANNOUNCE_MS) {
        overdueAnnounced.set(id, Date.now());
        const c = cases.get(id);
        announce(tf("Case %(id)s is overdue: %(stage)s was due %(time)s ago.", { id, stage, time: span(-left) }), c ? c.severity : "high");
      }
    } else {
      td.textContent = tf("%(stage)s within %(time)s", { stage, time: span(left) });
      tr.classList.toggle("overdue", false);
      tr.classList.toggle("soon", left < 300);
    }
  }
}

function announce(message, severity) {
  alerts += 1;
  root.dataset.alerts = String(alerts);
  const banner = $("alert");
  banner.textContent = message;
  banner.hidden = false;
  banner.className = `alert-banner sev-${severity}`;
  if (beeper.beep(severity === "critical" ? 3 : 2, severity === "critical" ? 988 : 880)) {
    root.dataset.beeps = String(beeper.played);
  }
}

function onMessage(msg) {
  if (msg.type === "hello") {
    setCases(msg.cases);
    return;
  }
  const c = msg.case;
  if (!c) return;
  const unknown = !known.has(c.id);
  known.add(c.id);
  if (c.state === "closed") cases.delete(c.id);
  else cases.set(c.id, c);
  render();
  // A change to a case this console never saw (its "new" came in a gap) announces it as new.
  if (msg.type === "case.new" || (unknown && c.state !== "closed")) {
    markFresh(c.id);
    announce(tf("New %(severity)s case %(id)s: %(category)s.", { severity: c.severity_label, id: c.id, category: c.category_label }), c.severity);
  } else if (msg.type === "case.overdue") {
    overdueAnnounced.set(c.id, Date.now());
    announce(tf("Case %(id)s is overdue (%(stage)s).", { id: c.id, stage: c.stage_label || c.stage }), c.severity);
  }
}

async function poll() {
  try {
    const response = await fetch(state.api_open, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    skewMs = Date.parse(data.now) - Date.now();
    setCases(data.cases);
  } catch {
    /* still down: try again at the next poll */
  }
}

function onState(s) {
  root.dataset.connected = String(s === "live");
  const chip = $("live");
  chip.textContent = { live: t("live"), down: t("reconnecting…"), refused: t("not allowed") }[s] || s;
  chip.classList.toggle("down", s !== "live");
  if (s === "live") {
    clearInterval(pollTimer);
    pollTimer = null;
  } else if (!pollTimer && s !== "refused") {
    pollTimer = setInterval(poll, 15_000);
  }
}

const soundButton = $("sound");
soundButton.addEventListener("click", async () => {
  if (beeper.enabled) {
    beeper.disable();
  } else if (await beeper.enable()) {
    beeper.beep(1, 660);
  }
  soundButton.setAttribute("aria-pressed", String(beeper.enabled));
  soundButton.textContent = beeper.enabled ? t("Sound: on") : t("Sound: off — click to turn on");
});
// Any first click or key on the page may start sound (browsers require a gesture).
const unlock = () => {
  beeper.enable().then((on) => {
    soundButton.setAttribute("aria-pressed", String(on));
    soundButton.textContent = on ? t("Sound: on") : t("Sound: off — click to turn on");
  });
};
document.addEventListener("keydown", unlock, { once: true });
document.addEventListener("pointerdown", (e) => e.target !== soundButton && unlock(), { once: true });
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") socket.send({ type: "refresh" });
});

setCases(state.cases, { quiet: true }); // what the page showed when it loaded
const socket = new LiveSocket(state.ws_path, { onMessage, onState });
setInterval(tick, 1000);
setInterval(() => socket.send({ type: "refresh" }), REFRESH_MS);
