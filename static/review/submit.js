// The review page, submit: the submit body (plugins may add to it), handed to the
// outbox (outbox.js: kept in localStorage, sent with one idempotency key until the
// server answers) while the next clip is shown in the same frame; the outbox's
// lines (saving / saved / not saved) and what the page says about them; undo of the
// last submit (the clip comes back: pulled out of the outbox, or amended); a clip
// that is no longer the reviewer's (409). Methods of ReviewPage (page.js).

import { newKey } from "./api.js";
import { byId as $, el } from "./dom.js";
import { clock, sentence } from "./format.js";
import { HEARD_ENOUGH, unchangedText } from "./listening.js";
import { safely } from "./plugins.js";
import { t, tf } from "./i18n.js";

const SHOWN = 4; // lines of the outbox on screen, the newest last
const KEEP_MAX = 8; // submitted clips kept in memory (audio too) for undo and reopening

/** Why a submit is tried again, for the status line. */
export function retryReason(status, error) {
  if (status === 0) return error || t("no connection");
  if (status === 401) return t("you are signed out; sign in again in another tab");
  return tf("the server answered %(status)s", { status });
}

/** One outbox entry's state as a few words for its line. */
export function stateText(entry, now = Date.now()) {
  switch (entry.state) {
    case "saving":
      return t("saving…");
    case "retrying": {
      const left = Math.max(0, Math.ceil((entry.nextAt - now) / 1000));
      return tf("not saved yet · retry in %(left)s s", { left });
    }
    case "saved":
      return entry.created === false ? t("saved (already)") : t("saved");
    case "failed":
      return t("not saved");
    case "gone":
      if (entry.reason === "lapsed") return t("not saved: no longer yours");
      return entry.reason === "submitted" ? t("already submitted") : t("withdrawn");
    case "unknown":
      return t("taken back");
    default:
      return entry.state;
  }
}

export const Submitting = {
  submission(item, { accidental, seconds, confirmedUnheard = false }) {
    const body = {
      idempotency_key: item.key,
      corrected_text: accidental ? "" : this.editor.value,
      answer_grade: this.grade,
      intent_correct: this.intent,
      no_speech: this.markers.no_speech,
      unintelligible: this.markers.unintelligible,
      other_language: this.markers.other_language,
      accidental,
      seconds_spent: seconds,
      ...this.listeningOf(item),
      confirmed_unheard: Boolean(confirmedUnheard),
    };
    for (const hook of this.submitHooks) safely(hook, body, item.payload);
    return body;
  },

  /** Seconds on the clip so far (a reopened clip adds its earlier time). */
  secondsOn(item) {
    return Math.round((item.spentMs || 0) + performance.now() - item.shownAt) / 1000;
  },

  /** Whisper's text unchanged and not heard in full: ask once (dialogs.js openUnheard). */
  unheard(item, accidental) {
    if (accidental || item.confirmedUnheard) return null;
    if (!unchangedText(this.editor.value, item.payload.whisper.text)) return null;
    const { listened_fraction: fraction } = this.listeningOf(item);
    return fraction < HEARD_ENOUGH ? fraction : null;
  },

  /** Ctrl+Enter: hand the clip to the outbox and show the next one at once (no waiting on the network). */
  submit({ accidental = false, event = null } = {}) {
    const started = event && event.timeStamp ? event.timeStamp : performance.now();
    const item = this.items[0];
    if (!item || this.view !== "clip") return;
    if (item.lost) {
      this.advance();
      this.topUp();
      return;
    }
    const empty = !this.editor.value.trim() && !this.markers.no_speech && !this.markers.unintelligible;
    if (!accidental && empty) {
      this.setSave("error", t("The transcript is empty: type what you hear, or mark no speech (Alt+M) or unintelligible (Alt+U)."));
      this.editor.focus();
      return;
    }
    const unheard = this.unheard(item, accidental);
    if (unheard !== null) {
      this.openUnheard(unheard);
      return;
    }
    const body = this.submission(item, {
      accidental,
      seconds: this.secondsOn(item),
      confirmedUnheard: item.confirmedUnheard,
    });
    const snapshot = this.takeSnapshot(item);
    // Anything refused earlier for this clip is replaced by this submit.
    for (const old of this.outbox.forTask(item.id)) if (old.state === "failed") this.outbox.forget(old.key);
    this.outbox.add({ key: item.key, taskId: item.id, body, amendOf: item.amendOf || null });
    this.keep(item, { key: item.key, snapshot, accidental });

    this.done += 1;
    sessionStorage.setItem("annotate.review.done", String(this.done));
    this.renderCount();
    this.pendingTiming = { taskId: item.id, started };
    this.advance({ release: false });
    // The network after the next clip is on screen and playing.
    setTimeout(() => {
      this.topUp();
      this.outbox.retryNow(); // a submit also sends at once whatever waits to be retried
    }, 0);
  },

  /** Keep a submitted clip (its audio in memory) for undo while the window lasts. */
  keep(item, { key, snapshot, accidental }) {
    item.spentMs = (item.spentMs || 0) + performance.now() - item.shownAt;
    this.player.stop();
    const kept = { item, key, snapshot, accidental, at: Date.now() };
    this.kept.set(key, kept);
    this.undoable = kept;
    this.trimKept();
  },

  /** Let go of kept clips: past the undo window and not waiting for the reviewer, or too many. */
  trimKept() {
    const now = Date.now();
    for (const [key, kept] of [...this.kept]) {
      const entry = this.outbox.get(key);
      const refused = entry && entry.state === "failed";
      const expired = now - kept.at > this.amendMs;
      if ((expired && !refused) || this.kept.size > KEEP_MAX) {
        this.kept.delete(key);
        if (!this.items.includes(kept.item)) kept.item.release();
        if (this.undoable === kept) this.undoable = null;
      }
    }
  },

  /** What the reviewer decided on the clip, to bring back on undo. */
  takeSnapshot(item) {
    return {
      text: this.editor.value,
      grade: this.grade,
      intent: this.intent,
      markers: { ...this.markers },
      confirmedUnheard: Boolean(item.confirmedUnheard),
      plugins: this.undoKeepers.map((keeper) => {
        try {
          return keeper.save(item.payload);
        } catch (error) {
          console.error("review plugin snapshot failed", error);
          return undefined;
        }
      }),
    };
  },

  restoreSnapshot(snapshot) {
    this.editor.textarea.value = snapshot.text;
    this.editor.renderDiff();
    this.grade = snapshot.grade;
    this.intent = snapshot.intent;
    Object.assign(this.markers, snapshot.markers);
  },

  restorePlugins(snapshot) {
    this.undoKeepers.forEach((keeper, i) => {
      if (snapshot.plugins && snapshot.plugins[i] !== undefined) safely(keeper.restore, snapshot.plugins[i], this.items[0].payload);
    });
  },

  // --- undo and reopening ---------------------------------------------------------------

  /** Alt+B: bring back the clip submitted last, while the undo window lasts. */
  undo() {
    this.trimKept();
    const last = this.undoable;
    if (!last) {
      this.setSave("info", t("Nothing to undo: no clip submitted in the last minutes is still in this page."));
      return;
    }
    this.reopen(last.key);
  },

  /** Show a submitted clip again, to change it; the next submit replaces what was sent. */
  reopen(key) {
    if (document.querySelector("dialog[open]")) return;
    const kept = this.kept.get(key);
    const entry = this.outbox.get(key);
    if (!kept) {
      this.setSave("error", t("That clip is no longer in this page: it cannot be reopened."));
      return;
    }
    if (entry && entry.state === "gone") {
      this.setSave("error", tf("It cannot be reopened: %(why)s.", { why: entry.error }));
      return;
    }
    if (entry && entry.state === "saved") {
      if (kept.accidental) {
        this.setSave("error", t("An accidental recording’s audio is purged once it is saved: it cannot be reopened."));
        return;
      }
      if (Date.now() - kept.at > this.amendMs) {
        this.setSave("error", tf("The %(minutes)s minutes to undo that submit have passed.", { minutes: Math.round(this.amendMs / 60000) }));
        return;
      }
    }
    const pulled = this.outbox.pull(key);
    const item = kept.item;
    const sent = pulled ? pulled.sent : "never";
    if (sent === "saved" || sent === "unknown") {
      // Stored (or maybe stored): the next submit is a new version of it (amends), under a new key.
      item.amendOf = key;
      item.key = newKey();
      item.undoUntil = kept.at + this.amendMs;
    } else {
      item.amendOf = null; // never reached the server, or refused: the next submit is a plain one
    }
    this.kept.delete(key);
    if (this.undoable === kept) this.undoable = null;
    this.finished.delete(item.id);
    item.lost = false;
    const current = this.items[0];
    if (current && this.view === "clip") {
      current.parked = this.takeSnapshot(current);
      current.spentMs = (current.spentMs || 0) + performance.now() - current.shownAt;
    }
    this.items.unshift(item);
    if (sent !== "failed") {
      this.done = Math.max(0, this.done - 1);
      sessionStorage.setItem("annotate.review.done", String(this.done));
      this.renderCount();
    }
    this.pendingTiming = null;
    this.showCurrent({ restore: kept.snapshot });
    this.setSave(
      "info",
      sent === "failed"
        ? t("Reopened the clip that was not saved: fix it and submit again (Ctrl+Enter).")
        : t("Back to the clip you submitted: change it and submit again (Ctrl+Enter); that version replaces the first."),
    );
    this.renderOutbox();
  },

  // --- what the outbox says -----------------------------------------------------------------

  /** The outbox's lines in the submit bar, and the status line for what changed. */
  renderOutbox() {
    if (!this.outbox) return;
    this.trimKept();
    const entries = this.outbox.entries.filter((e) => e.state !== "unknown");
    const seen = this.outboxSeen || (this.outboxSeen = new Map());
    const newest = entries[entries.length - 1];
    let settled = false;
    for (const entry of entries) {
      const was = seen.get(entry.key);
      if (was === entry.state) continue;
      seen.set(entry.key, entry.state);
      if (was !== undefined || entry.state !== "saving") this.tell(entry, entry === newest);
      else if (entry === newest) this.setSave("saving", t("Saving…"));
      if (was !== undefined && (entry.state === "saved" || entry.state === "gone")) settled = true;
      if (entry.state === "failed" && !this.kept.has(entry.key)) {
        // Refused, and not in this page's memory (sent after a reload): the clip is still held;
        // the next claim brings it back with this text to fix (refusedText).
        this.finished.delete(entry.taskId);
        settled = true;
      }
    }
    // A claim sent with the submit still counted the submitted clip as held: now there is room for one more.
    if (settled && this.started) this.topUp();
    const now = Date.now();
    const list = $("outbox");
    const shown = entries.slice(-SHOWN);
    // Re-drawn only when a line changes (the clock ticks every second), so a click never hits a replaced button.
    const signature = JSON.stringify(
      shown.map((e) => [e.key, e.state, stateText(e, now), this.kept.has(e.key), e.key === this.undoable?.key]),
    );
    if (signature !== this.outboxSignature) {
      this.outboxSignature = signature;
      list.replaceChildren(...this.outboxLines(shown, now));
    }
    const undo = $("undo");
    const undoable = this.undoable && now - this.undoable.at <= this.amendMs;
    undo.hidden = !undoable;
    if (undoable) undo.title = tf("Bring the last clip back (%(left)s left)", { left: clock((this.undoable.at + this.amendMs - now) / 1000, false) });
  },

  outboxLines(shown, now) {
    return shown.map((entry) => {
      const canReopen = this.kept.has(entry.key) && (entry.state === "failed" || entry.key === this.undoable?.key);
      return el(
        "li",
        { className: `outbox-line ${entry.state}`, "data-state": entry.state, "data-task-id": entry.taskId, title: entry.error || "" },
        el("span", { className: "outbox-label", text: `“${entry.label}”` }),
        " ",
        el("span", { className: "outbox-state", text: stateText(entry, now) }),
        canReopen
          ? el("button", { type: "button", className: "link outbox-reopen", "data-reopen": entry.key, text: t("reopen") })
          : null,
      );
    });
  },

  /** Say what happened to a submit: on the status line (the newest) or as a notice (an earlier one). */
  tell(entry, newest) {
    const label = `“${entry.label}”`;
    if (entry.state === "saved") {
      if (!newest) return;
      const wer = typeof entry.wer === "number" ? ` · ${tf("Whisper WER %(wer)s", { wer: `${Math.round(entry.wer * 100)}%` })}` : "";
      const saved = entry.created === false ? t("Already saved") : t("Saved");
      const accidental = entry.body && entry.body.accidental;
      this.setSave(
        "saved",
        accidental
          ? entry.created === false
            ? t("Already saved as accidental: the audio is purged.")
            : t("Saved as accidental: the audio is purged.")
          : `${saved}${wer}.`,
      );
    } else if (entry.state === "retrying") {
      const why = retryReason(entry.lastStatus, entry.error);
      this.setSave("retrying", tf("Not saved yet (%(why)s): %(label)s is kept here and sent again by itself.", { why, label }));
    } else if (entry.state === "failed") {
      this.setSave("error", tf("Not saved: %(why)s. %(label)s is kept: reopen it to fix it.", { why: entry.error, label }));
      this.notice(tf("%(label)s was not saved: %(why)s Reopen it in the list at the bottom to fix it.", { label, why: sentence(entry.error) }));
    } else if (entry.state === "gone") {
      if (entry.reason === "lapsed") {
        // The server's words ("this clip is no longer yours: its lease ran out…"), in the reviewer's language.
        const why = entry.error || t("this clip is no longer yours");
        this.notice(tf("%(label)s: %(why)s. It was not saved; its text: %(text)s", { label, why, text: entry.body.corrected_text }));
        this.setSave("error", t("Not saved: the clip is no longer yours."));
      } else {
        this.notice(`${sentence(entry.error || t("this clip was withdrawn"))} (${label})`);
        this.setSave(
          "info",
          entry.reason === "submitted" ? t("Already submitted: nothing more to save.") : t("Nothing to save: the clip was withdrawn."),
        );
      }
    }
  },

  /**
   * A 409 from renew (or a reopened clip): the clip is not this reviewer's any more. data.reason
   * says why (annotate/queues/claims.py ClaimError): "lapsed", "escalated", "withdrawn", "submitted".
   */
  clipGone(item, data = {}) {
    item.lost = true;
    this.player.stop();
    const reason = data.reason || "lapsed";
    if (reason === "lapsed") {
      // The server's words start "this clip is no longer yours: …", in the reviewer's language.
      const why = data.error || t("this clip is no longer yours: its lease ran out and it went back to the queue");
      this.notice(`${sentence(why)} ${t("Your text is still below so you can copy it. Ctrl+Enter goes on to the next clip.")}`);
      this.setSave("error", t("Not saved: the clip is no longer yours."));
    } else {
      this.notice(`${sentence(data.error || t("this clip was withdrawn"))} ${t("Ctrl+Enter goes on to the next clip.")}`);
      this.setSave(
        "info",
        reason === "submitted" ? t("Already submitted: nothing more to save.") : t("Nothing to save: the clip was withdrawn."),
      );
    }
    this.setLostMode(true);
  },

  setLostMode(lost) {
    const submit = $("submit");
    submit.firstChild.textContent = lost ? t("Next clip") : t("Submit");
    if (!lost) this.notice("");
  },

  /** Drop the clip under review and show the next one (already fetched) at once. */
  advance({ release = true } = {}) {
    const old = this.items.shift();
    if (old) {
      if (!old.lost) this.finished.add(old.id);
      if (release) old.release();
    }
    this.notice("");
    if (this.items.length) this.showCurrent();
    else this.setView("loading");
  },
};
