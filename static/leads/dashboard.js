// The live dashboard: renders the numbers from JSON (first from the page, then
// from the WebSocket ws/lead/dashboard/, which pushes fresh numbers whenever a
// reviewer submits). Reconnects with backoff; never reloads the page.

import { t, tf, tn } from "../review/i18n.js";
import { barChart, columnChart } from "./charts.js";

const $ = (id) => document.getElementById(id);
const root = $("dashboard");
// Flag categories and severities in the lead's words (the snapshot names them by value).
const labels = JSON.parse($("dashboard-labels").textContent);
const fmt = {
  int: (v) => (v == null ? "–" : String(v)),
  pct: (v) => (v == null ? "–" : `${Math.round(v * 1000) / 10}%`),
  sec: (v) => (v == null ? "–" : `${v}`),
};
const hook = { updates: 0, data: null, live: false };
window.__dashboard = hook;

function cells(row, values) {
  const tr = document.createElement("tr");
  values.forEach(([value, numeric]) => {
    const td = document.createElement("td");
    if (numeric) td.className = "num";
    td.textContent = value;
    tr.append(td);
  });
  row.append(tr);
}

function fill(tableId, rows, toCells) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren();
  for (const row of rows) cells(body, toCells(row));
  if (!rows.length) cells(body, [[t("no data yet"), false]]);
}

function hourLabel(iso) {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, "0")}:00`;
}

/** Why a reviewer's day looks like rubber-stamping (selectors.listening_alerts), in the lead's words. */
function reason(r) {
  if (r.kind === "pace") {
    return tf("%(pace)s s of work per second of audio: faster than the clips play", { pace: r.pace });
  }
  const heard = r.heard == null ? t("not reported") : `${r.heard}%`;
  return tf("%(unchanged)s of Whisper's texts submitted unchanged, median heard %(heard)s", {
    unchanged: `${r.unchanged}%`,
    heard,
  });
}

export function render(data) {
  hook.data = data;
  $("generated-at").textContent = new Date(data.generated_at).toLocaleTimeString();
  $("generated-at").dateTime = data.generated_at;
  $("total-backlog").textContent = fmt.int(data.totals.backlog);
  $("total-last-hour").textContent = fmt.int(data.totals.last_hour);
  $("total-last-24h").textContent = fmt.int(data.totals.last_24h);
  $("adjudication-waiting").textContent = fmt.int(data.adjudication_waiting);
  $("inbox-open").textContent = fmt.int(data.inbox_open);
  $("flags-24h").textContent = data.flags ? fmt.int(data.flags.last_24h ?? data.flags.total) : "–";

  fill("queues-table", data.queues, (q) => [
    [q.name, false],
    [fmt.int(q.priority), true],
    [fmt.int(q.backlog), true],
    [fmt.int(q.in_progress), true],
    [fmt.int(q.clips_per_hour), true],
    [fmt.sec(q.median_seconds), true],
  ]);
  fill("reviewers-table", data.reviewers, (r) => [
    [r.reviewer, false],
    [fmt.int(r.last_hour), true],
    [fmt.int(r.last_24h), true],
    [fmt.sec(r.median_seconds), true],
    [r.gold_n ? `${fmt.pct(r.gold_accuracy)} (${r.gold_n})` : "–", true],
    [r.agreement_n ? `${fmt.pct(r.agreement)} (${r.agreement_n})` : "–", true],
    [fmt.pct(r.unchanged_share), true],
    [fmt.pct(r.median_listened), true],
    [r.pace == null ? "–" : `${r.pace}×`, true],
  ]);
  const alerts = data.alerts || [];
  $("alerts-card").hidden = !alerts.length;
  $("alerts").replaceChildren(
    ...alerts.map((a) => {
      const li = document.createElement("li");
      const who = document.createElement("strong");
      who.textContent = a.reviewer;
      const clips = tn("%(n)s clip", "%(n)s clips", a.submits, { n: a.submits });
      li.append(who, ` (${clips}): ${a.reasons ? a.reasons.map(reason).join("; ") : a.why}`);
      return li;
    }),
  );
  fill("whisper-table", data.whisper, (w) => [
    [w.model, false],
    [fmt.pct(w.wer), true],
    [fmt.int(w.clips), true],
    [fmt.int(w.words), true],
  ]);

  columnChart(
    $("hourly-chart"),
    data.hourly.map((h) => ({ label: hourLabel(h.hour), value: h.clips })),
  );
  barChart(
    $("throughput-chart"),
    data.reviewers.map((r) => ({ label: r.reviewer, value: r.last_24h })),
  );
  barChart(
    $("whisper-chart"),
    data.whisper.map((w) => ({ label: w.model, value: w.wer })),
    { format: fmt.pct },
  );

  const flags = $("flags");
  flags.replaceChildren();
  const entries = data.flags
    ? [
        [t("Total"), data.flags.total],
        [t("Last 24 h"), data.flags.last_24h],
        ...Object.entries(data.flags.by_category || {}).map(([k, v]) => [labels.category[k] || k, v]),
        ...Object.entries(data.flags.by_severity || {}).map(([k, v]) => [
          tf("severity %(severity)s", { severity: labels.severity[k] || k }),
          v,
        ]),
      ]
    : [[t("Flags"), t("not recorded here")]];
  for (const [label, value] of entries) {
    if (value === undefined) continue;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = String(value);
    flags.append(dt, dd);
  }
}

function setLive(state, text) {
  root.dataset.live = state;
  hook.live = state === "live";
  $("live-state").textContent = text;
}

let attempt = 0;
function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const path = JSON.parse($("dashboard-socket").textContent); // annotate/leads/routing.py
  const socket = new WebSocket(`${scheme}://${location.host}${path}`);
  // The browser waits for the opening handshake as long as the server keeps it open, and
  // uvicorn sets no limit: give up after 10 s, and the close below tries again.
  const opening = setTimeout(() => {
    if (socket.readyState === WebSocket.CONNECTING) socket.close();
  }, 10_000);
  socket.addEventListener("open", () => {
    clearTimeout(opening);
    attempt = 0;
    setLive("live", t("live"));
  });
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === "dashboard") {
      hook.updates += 1;
      render(message.data);
    }
  });
  socket.addEventListener("close", (event) => {
    clearTimeout(opening);
    if (event.code === 4403) {
      setLive("off", t("not allowed: sign in as a team lead"));
      return;
    }
    attempt += 1;
    const wait = Math.min(30, 2 ** attempt);
    setLive("reconnecting", tf("reconnecting in %(wait)s s…", { wait }));
    setTimeout(connect, wait * 1000);
  });
}

render(JSON.parse($("dashboard-data").textContent));
connect();
