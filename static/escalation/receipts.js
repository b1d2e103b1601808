// A reviewer's receipts: that each flag arrived, and the state of its case.
// Shared by the care page (care.js) and the review page plugin (../review/flag.js).
import { t } from "../review/i18n.js";

export async function fetchReceipts(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`the server answered ${response.status}`); // never shown: the last state stays
  return response.json();
}

/** Fill a <tbody> with one row per receipt (flagged at, what, state). */
export function renderReceipts(tbody, receipts) {
  if (!receipts.length) {
    const tr = document.createElement("tr");
    tr.className = "empty-row";
    const td = document.createElement("td");
    td.colSpan = 3;
    td.className = "empty";
    td.textContent = t("You have not flagged a clip.");
    tr.append(td);
    tbody.replaceChildren(tr);
    return;
  }
  tbody.replaceChildren(
    ...receipts.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.flagId = r.flag_id;
      tr.dataset.state = r.state;
      // In the reviewer's time zone (their preference, not the browser's), with its name: from the server.
      const when = document.createElement("td");
      const time = document.createElement("time");
      time.dateTime = r.flagged_at;
      time.textContent = r.flagged_at_text;
      when.append(time);
      const what = document.createElement("td");
      what.textContent = r.category_label.charAt(0).toUpperCase() + r.category_label.slice(1);
      const now = document.createElement("td");
      now.className = "receipt-state";
      now.textContent = r.state_label;
      tr.append(when, what, now);
      return tr;
    }),
  );
}

/** Poll while any case is still open: every `ms` milliseconds. Returns a stop function. */
export function pollReceipts(onData, { url, ms = 10_000 } = {}) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    try {
      const data = await fetchReceipts(url);
      onData(data);
      if (data.receipts.length && data.receipts.every((r) => r.closed)) ms = Math.max(ms, 60_000);
    } catch {
      /* keep the last state shown; try again */
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  timer = setTimeout(run, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
