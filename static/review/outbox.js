// The review page's outbox: a submit is handed to it and the page moves on at once.
// It is kept in localStorage (per reviewer), sent with its idempotency key, and
// sent again with the same key, with backoff, until the server answers; a page
// that loads with anything unsent sends it. Pure logic with its storage, sender
// and clock handed in: unit-tested with Node (tests/js/outbox.test.mjs).
//
// An entry: {key, taskId, body, label, state, attempts, nextAt, error, reason,
// annotationId, wer, created, amendOf, probe, pulled}. States:
//
//   saving    waiting for its first answer        retrying  a try failed (no answer, 5xx, 401, 429)
//   saved     the server stored it (201 / 200)    failed    the server refused it (400…): not saved
//   gone      409: the clip is not the reviewer's any more (lapsed, withdrawn, submitted)
//   unknown   pulled back by an undo after a try that got no answer: it may have been stored
//
// Undo of a submit (page.js): an entry not yet sent is pulled back out (pull);
// a new version of a saved one is an entry with amendOf = the first one's key,
// which waits for the first one's answer and is sent with `amends` = its
// annotation id, under a new key. A new version of an entry whose fate is unknown
// is first sent under the old key ("probe"): if the server says it had stored the
// old one (200, created false), the new version follows as an amend.

import { backoffMs, isRetryable } from "./api.js";
import { t, tf } from "./i18n.js";

export const RECENT = 6; // finished entries kept for the status list
const WAITING = new Set(["saving", "retrying"]);

/** A label for the status list: the first words of the text (or what the clip was marked). */
export function labelFor(body) {
  if (body.accidental) return t("accidental recording");
  const text = String(body.corrected_text || "").trim().replace(/\s+/g, " ");
  if (!text) return body.no_speech ? t("no speech") : body.unintelligible ? t("unintelligible") : t("(empty)");
  return text.length > 28 ? `${text.slice(0, 27).trimEnd()}…` : text;
}

export class Outbox {
  /**
   * storage: localStorage-like; name: the storage key (per reviewer);
   * send(taskId, body) → Promise<{status, data}>; onChange(entries) after every change.
   */
  constructor({ storage, name, send, now = () => Date.now(), timers = globalThis, backoff = backoffMs, onChange = () => {} }) {
    this.storage = storage;
    this.name = name;
    this.send = send;
    this.now = now;
    this.timers = timers;
    this.backoff = backoff;
    this.onChange = onChange;
    this.inflight = new Set(); // keys being sent by this page
    this.timer = null;
    this.entries = this.read();
  }

  // --- storage ------------------------------------------------------------------------

  read() {
    try {
      const parsed = JSON.parse(this.storage.getItem(this.name) || "[]");
      return Array.isArray(parsed) ? parsed.filter((e) => e && e.key && e.taskId !== undefined) : [];
    } catch {
      return [];
    }
  }

  write() {
    // Finished entries beyond the recent few are dropped; waiting and refused ones stay (their text with them).
    const keep = new Set();
    for (const state of ["saved", "gone"]) {
      for (const e of this.entries.filter((x) => x.state === state).slice(-RECENT)) keep.add(e.key);
    }
    this.entries = this.entries.filter((e) => (e.state !== "saved" && e.state !== "gone") || keep.has(e.key));
    try {
      this.storage.setItem(this.name, JSON.stringify(this.entries));
    } catch (error) {
      console.error("outbox: localStorage refused the write", error);
    }
    this.onChange(this.entries);
  }

  /** Another tab of the same reviewer wrote: take in what it knows (its answers), keep ours. */
  merge() {
    const theirs = new Map(this.read().map((e) => [e.key, e]));
    this.entries = this.entries.map((mine) => {
      const other = theirs.get(mine.key);
      return other && !WAITING.has(other.state) && WAITING.has(mine.state) && !this.inflight.has(mine.key) ? other : mine;
    });
    for (const [key, other] of theirs) if (!this.get(key)) this.entries.push(other);
    this.onChange(this.entries);
    this.pump();
  }

  // --- reading -------------------------------------------------------------------------

  get(key) {
    return this.entries.find((e) => e.key === key) || null;
  }

  forTask(taskId) {
    return this.entries.filter((e) => e.taskId === taskId);
  }

  /** Entries not answered yet (the text is only here). */
  get unsent() {
    return this.entries.filter((e) => WAITING.has(e.state));
  }

  /** Task ids this page must not show as new clips: their submit is on its way. */
  get waitingTasks() {
    return new Set(this.unsent.map((e) => e.taskId));
  }

  isInflight(key) {
    return this.inflight.has(key);
  }

  // --- writing -------------------------------------------------------------------------

  /** Hand a submission over: it is stored before anything is sent. */
  add({ key, taskId, body, amendOf = null }) {
    const entry = {
      key,
      taskId,
      body: { ...body, idempotency_key: key },
      label: labelFor(body),
      state: "saving",
      attempts: 0,
      nextAt: 0,
      createdAt: this.now(),
      amendOf,
      probe: false,
    };
    this.entries = this.entries.filter((e) => e.key !== key);
    this.entries.push(entry);
    this.write(); // kept before anything else happens…
    this.timers.setTimeout(() => this.pump(), 0); // …and sent in the next task (the page moves on first)
    return entry;
  }

  /**
   * Take a submission back (undo). Returns {entry, sent}: sent is "never" (it never left
   * this browser: drop it), "saved" (amend it), "unknown" (a try got no answer, or one is on
   * its way: it may be stored), or "failed"/"gone" (refused: nothing stored). null: no such entry.
   */
  pull(key) {
    const entry = this.get(key);
    if (!entry) return null;
    if (entry.state === "saved") return { entry, sent: "saved" };
    if (entry.state === "failed" || entry.state === "gone") {
      this.entries = this.entries.filter((e) => e !== entry);
      this.write();
      return { entry, sent: entry.state };
    }
    if (this.inflight.has(key)) {
      entry.pulled = true; // its answer decides: stored (→ saved, amend it) or not (dropped)
      this.write();
      return { entry, sent: "unknown" };
    }
    this.entries = this.entries.filter((e) => e !== entry);
    if (entry.attempts > 0) {
      // A try got no answer: it may be stored. Kept, as "unknown", for the new version's probe.
      entry.state = "unknown";
      this.entries.push(entry);
    }
    this.write();
    return { entry, sent: entry.attempts > 0 ? "unknown" : "never" };
  }

  /** Drop an entry (a refused one the reviewer has dealt with). */
  forget(key) {
    this.entries = this.entries.filter((e) => e.key !== key);
    this.write();
  }

  /** Send everything waiting now (Ctrl+Enter on a "retrying" line). */
  retryNow() {
    for (const entry of this.unsent) entry.nextAt = 0;
    this.pump();
  }

  // --- sending -------------------------------------------------------------------------

  /** Send every entry that is due and not on its way; sleep until the next one is due. */
  pump() {
    if (this.timer !== null) {
      this.timers.clearTimeout(this.timer);
      this.timer = null;
    }
    const now = this.now();
    let next = Infinity;
    for (const entry of this.unsent) {
      if (this.inflight.has(entry.key)) continue;
      const original = entry.amendOf ? this.get(entry.amendOf) : null;
      if (original && this.inflight.has(original.key)) continue; // the first version's answer comes first
      if (entry.nextAt > now) {
        next = Math.min(next, entry.nextAt);
        continue;
      }
      this.deliver(entry);
    }
    if (next < Infinity) this.timer = this.timers.setTimeout(() => this.pump(), Math.max(0, next - now));
  }

  /** The body to send now: an amend of a stored first version carries its annotation id. */
  prepare(entry) {
    const original = entry.amendOf ? this.get(entry.amendOf) : null;
    if (original && original.state === "saved" && original.annotationId) {
      return { ...entry.body, idempotency_key: entry.key, amends: original.annotationId };
    }
    if (original && original.state === "unknown" && !entry.probe) {
      // The first version's fate is unknown: send under its key; the answer tells.
      entry.probe = true;
      return { ...entry.body, idempotency_key: original.key };
    }
    return entry.body;
  }

  async deliver(entry) {
    this.inflight.add(entry.key);
    const body = this.prepare(entry);
    entry.body = body;
    let answer;
    try {
      answer = await this.send(entry.taskId, body);
    } catch (error) {
      answer = { status: 0, data: { error: String(error && error.message ? error.message : error) } };
    }
    this.inflight.delete(entry.key);
    this.answered(entry, answer);
    this.pump();
  }

  answered(entry, { status, data = {} }) {
    if (!this.entries.includes(entry)) return; // forgotten meanwhile
    entry.attempts += 1;
    entry.lastStatus = status;
    if (status === 200 || status === 201) {
      if (entry.probe && data.created === false) {
        // The first version had been stored: this one follows as its new version.
        const original = this.get(entry.amendOf);
        if (original) {
          original.state = "saved";
          original.annotationId = data.annotation_id;
        }
        entry.probe = false;
        entry.body = { ...entry.body, idempotency_key: entry.key, amends: data.annotation_id };
        entry.nextAt = 0;
        this.write();
        return;
      }
      if (entry.pulled) {
        // Taken back while on its way, and stored: the new version will amend it.
        entry.pulled = false;
      }
      entry.state = "saved";
      entry.annotationId = data.annotation_id ?? null;
      entry.created = data.created !== false;
      entry.wer = typeof data.wer === "number" ? data.wer : null;
      entry.savedAt = this.now();
      entry.body = { corrected_text: entry.body.corrected_text, accidental: entry.body.accidental };
      this.dropSettled(entry);
    } else if (entry.pulled) {
      // Taken back while on its way and not stored (or no answer): the new version decides.
      entry.state = isRetryable(status) ? "unknown" : "dropped";
      if (entry.state === "dropped") this.entries = this.entries.filter((e) => e !== entry);
    } else if (status === 409) {
      entry.state = "gone";
      entry.reason = data.reason || "lapsed";
      entry.error = data.error || t("this clip is no longer yours");
    } else if (isRetryable(status)) {
      entry.state = "retrying";
      entry.error = data.error || tf("the server answered %(status)s", { status });
      entry.nextAt = this.now() + this.backoff(entry.attempts - 1);
    } else {
      entry.state = "failed";
      entry.error = data.error || tf("the server answered %(status)s", { status });
    }
    this.write();
  }

  /** Once a new version is stored, its first version's "unknown" entry has no more use. */
  dropSettled(entry) {
    if (!entry.amendOf) return;
    const original = this.get(entry.amendOf);
    if (original && original.state === "unknown") this.entries = this.entries.filter((e) => e !== original);
  }
}
