// The review page, submit and retry: the submit body (plugins may add to it),
// saving with the same idempotency key until the server answers (counting down
// between tries; Ctrl+Enter retries at once), a clip that is no longer the
// reviewer's (409), and moving on to the next clip. Methods of ReviewPage (page.js).

import { backoffMs, isRetryable } from "./api.js";
import { byId as $ } from "./dom.js";
import { sentence } from "./format.js";
import { safely } from "./plugins.js";

/** Why a submit is tried again, for the status line. */
export function retryReason(status, error) {
  if (status === 0) return error;
  if (status === 401) return "you are signed out; sign in again in another tab";
  return `the server answered ${status}`;
}

export const Submitting = {
  submission(item, { accidental, seconds }) {
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
    };
    for (const hook of this.submitHooks) safely(hook, body, item.payload);
    return body;
  },

  async submit({ accidental = false } = {}) {
    const item = this.items[0];
    if (!item || this.view !== "clip") return;
    if (item.lost) {
      this.advance();
      this.topUp();
      return;
    }
    if (this.saving) {
      if (this.retryNow) this.retryNow(); // Ctrl+Enter while waiting to retry: retry now
      return;
    }
    const empty = !this.editor.value.trim() && !this.markers.no_speech && !this.markers.unintelligible;
    if (!accidental && empty) {
      this.setSave("error", "The transcript is empty: type what you hear, or mark no speech (Alt+M) or unintelligible (Alt+U).");
      this.editor.focus();
      return;
    }
    this.saving = true;
    this.root.dataset.saving = "true";
    const started = performance.now();
    const seconds = Math.round(started - item.shownAt) / 1000;
    try {
      for (let attempt = 0; ; attempt++) {
        this.setSave("saving", attempt ? "Saving… (trying again)" : "Saving…");
        const { status, data } = await this.api.submit(item.id, this.submission(item, { accidental, seconds }));
        if (status === 200 || status === 201) {
          this.submitted(item, data, { started, accidental });
          return;
        }
        if (status === 409) {
          this.clipGone(item, data); // never retried: the answer will not change
          return;
        }
        if (!isRetryable(status)) {
          this.setSave("error", `Not saved: ${data.error || `the server answered ${status}`}.`);
          return;
        }
        await this.waitToRetry(backoffMs(attempt), retryReason(status, data.error));
        if (this.items[0] !== item) return;
      }
    } finally {
      this.saving = false;
      this.retryNow = null;
      delete this.root.dataset.saving;
    }
  },

  /** Wait before retrying, counting down on screen; Ctrl+Enter cuts it short. */
  waitToRetry(ms, why) {
    return new Promise((resolve) => {
      const until = Date.now() + ms;
      const render = () => {
        const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        this.setSave("retrying", `Not saved yet (${why}). Retrying in ${left} s — your work stays here. Ctrl+Enter retries now.`);
      };
      render();
      const timer = setInterval(render, 1000);
      const done = () => {
        clearInterval(timer);
        clearTimeout(timeout);
        this.retryNow = null;
        resolve();
      };
      const timeout = setTimeout(done, ms);
      this.retryNow = done;
    });
  },

  submitted(item, data, { started, accidental }) {
    this.done += 1;
    sessionStorage.setItem("annotate.review.done", String(this.done));
    this.renderCount();
    const wer = typeof data.wer === "number" ? ` · Whisper WER ${Math.round(data.wer * 100)}%` : "";
    // 200 "already saved": an earlier attempt of this very submit reached the server (its answer was lost).
    const saved = data.created === false ? "Already saved" : "Saved";
    this.setSave("saved", accidental ? `${saved} as accidental: the audio is purged.` : `${saved}${wer}.`);
    this.pendingTiming = { taskId: item.id, started, postMs: performance.now() - started };
    this.advance();
    this.topUp();
  },

  /**
   * A 409 from submit or renew: the clip is not this reviewer's any more. data.reason says why
   * (annotate/queues/claims.py ClaimError): "lapsed" (the lease ran out: the text was not saved),
   * "escalated" or "withdrawn" (the clip was taken out of the queues: nothing more is needed),
   * "submitted" (saved already, from another tab or attempt).
   */
  clipGone(item, data = {}) {
    item.lost = true;
    this.player.stop();
    const reason = data.reason || "lapsed";
    if (reason === "lapsed") {
      const why = data.error || "its lease ran out and it went back to the queue";
      this.notice(
        `This clip is no longer yours: ${why.replace(/^this clip is no longer yours: /i, "")}. ` +
          "Your text is still below so you can copy it. Ctrl+Enter goes on to the next clip.",
      );
      this.setSave("error", "Not saved: the clip is no longer yours.");
    } else {
      this.notice(`${sentence(data.error || "this clip was withdrawn")} Ctrl+Enter goes on to the next clip.`);
      this.setSave(
        "info",
        reason === "submitted" ? "Already submitted: nothing more to save." : "Nothing to save: the clip was withdrawn.",
      );
    }
    this.setLostMode(true);
  },

  setLostMode(lost) {
    const submit = $("submit");
    submit.firstChild.textContent = lost ? "Next clip" : "Submit";
    if (!lost) this.notice("");
  },

  /** Drop the clip under review and show the next one (already fetched) at once. */
  advance() {
    const old = this.items.shift();
    if (old) {
      if (!old.lost) this.finished.add(old.id);
      old.release();
    }
    this.notice("");
    if (this.items.length) this.showCurrent();
    else this.setView("loading");
  },
};
