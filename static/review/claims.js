// The review page, claims and leases: the held clips (the one under review and
// the prefetched next ones), topping them up from the claim API, folding the
// answer in, renewing leases while the reviewer is active, and the lease chip.
// Item is one held task; Claims holds methods of ReviewPage (page.js).

import { backoffMs } from "./api.js";
import { byId as $ } from "./dom.js";
import { clock } from "./format.js";
import { Listening } from "./listening.js";
import { ClipAudio } from "./player.js";
import { t, tf } from "./i18n.js";

export const RENEW_EVERY_MS = 60_000;
const IDLE_AFTER_MS = 10 * 60_000; // an idle tab stops renewing, so its clips go back to the queue
const LEASE_WARNING_SECONDS = 120;

/** A held task, its audio fetched as soon as the task is known. */
export class Item {
  constructor(payload) {
    this.payload = payload;
    this.audio = null;
    this.lost = false;
    this.key = null;
    this.shownAt = 0;
    this.spentMs = 0; // time on the clip before it was last shown (a reopened or parked clip)
    this.refreshed = false;
    this.listening = new Listening(); // what of it was played (listening.js)
    this.amendOf = null; // reopened after its submit: the outbox key of the version it replaces
    this.undoUntil = null; // … until then (the undo window)
    this.parked = null; // put aside by a reopened clip: what the reviewer had done on it
    this.setLease(payload.lease_expires_at);
    // A likely distressing clip, or one the accidental-recording gate left to a human, plays
    // muffled first; the reviewer chooses to hear it clearly (Alt+V).
    this.muffled = Boolean(payload.protection && payload.protection.protective_first);
    this.fetchAudio();
  }

  get audioUrl() {
    return this.muffled ? `${this.payload.audio_url}?muffled=1` : this.payload.audio_url;
  }

  /** Drop the muffled audio and fetch the clear version (still disguised and bleeped, as the queue says). */
  hearClearly() {
    if (!this.muffled) return false;
    this.release();
    this.muffled = false;
    this.fetchAudio();
    return true;
  }

  get id() {
    return this.payload.task_id;
  }

  fetchAudio() {
    this.abort = new AbortController();
    this.audioPromise = ClipAudio.fetch(this.audioUrl, { signal: this.abort.signal }).then((audio) => {
      this.audio = audio;
      return audio;
    });
    this.audioPromise.catch(() => {}); // reported where it is awaited
  }

  setLease(iso) {
    this.leaseDeadline = iso ? Date.parse(iso) : null;
  }

  update(payload) {
    this.setLease(payload.lease_expires_at);
    this.payload = { ...this.payload, lease_expires_at: payload.lease_expires_at, audio_url: payload.audio_url };
  }

  release() {
    this.abort.abort();
    if (this.audio) this.audio.release();
    this.audio = null;
  }
}

export const Claims = {
  /** Top the held clips up (in the background) and fold the answer in. */
  topUp() {
    if (this.claiming) {
      this.claimAgain = true;
      return this.claiming;
    }
    this.claiming = (async () => {
      for (let attempt = 0; ; attempt++) {
        const { status, data } = await this.api.claim(this.state.queue_id);
        if (status === 200) {
          this.reconcile(data.tasks || []);
          return;
        }
        if (this.items.length) return; // the prefetch can wait for the next submit
        this.notice(tf("Could not load the next clip (%(why)s). Trying again…", { why: data.error || status }));
        await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
      }
    })().finally(() => {
      this.claiming = null;
      if (this.claimAgain) {
        this.claimAgain = false;
        this.topUp();
      }
    });
    return this.claiming;
  },

  reconcile(payloads) {
    const current = this.items[0] || null;
    const known = new Map(this.items.map((item) => [item.id, item]));
    const next = current ? [current] : [];
    for (const payload of payloads) {
      if (this.finished.has(payload.task_id)) continue; // answered before this skip or submit landed
      if (this.outbox.waitingTasks.has(payload.task_id)) continue; // its submit is in the outbox
      if (current && payload.task_id === current.id) {
        current.update(payload);
        continue;
      }
      const existing = known.get(payload.task_id);
      if (existing) existing.update(payload);
      next.push(existing || new Item(payload));
    }
    for (const item of this.items) if (!next.includes(item)) item.release();
    this.items = next;
    if (!current) {
      if (this.items.length) {
        this.notice("");
        this.showCurrent();
      } else if (!this.claimAgain) {
        this.setView("empty");
      }
    }
  },

  checkAgain() {
    this.setView("loading");
    this.topUp();
  },

  activity() {
    const wasIdle = Date.now() - this.lastActivity > IDLE_AFTER_MS;
    this.lastActivity = Date.now();
    if (wasIdle) this.renewAll();
  },

  async renewAll() {
    if (Date.now() - this.lastActivity > IDLE_AFTER_MS) return;
    for (const item of [...this.items]) {
      if (item.lost || item.amendOf) continue; // a reopened clip was submitted: no lease to renew
      const { status, data } = await this.api.renew(item.id);
      if (status === 200) {
        item.setLease(data.lease_expires_at);
      } else if (status === 409) {
        if (item.amendOf) continue; // reopened meanwhile
        if (item === this.items[0]) {
          this.clipGone(item, data);
        } else {
          this.items = this.items.filter((other) => other !== item);
          item.release();
          this.topUp();
        }
      }
    }
    this.tickLease();
  },

  tickLease() {
    const item = this.items[0];
    const lease = $("lease");
    if (!item || this.view !== "clip" || (!item.leaseDeadline && !item.undoUntil)) {
      lease.hidden = true;
      return;
    }
    if (item.amendOf && item.undoUntil) {
      const left = Math.max(0, Math.round((item.undoUntil - Date.now()) / 1000));
      lease.hidden = false;
      lease.classList.toggle("warn", left <= LEASE_WARNING_SECONDS);
      lease.classList.toggle("over", left <= 0);
      lease.textContent = left > 0 ? tf("Undo %(left)s", { left: clock(left, false) }) : t("Undo time over");
      lease.title = t("A new version of a submitted clip is accepted until the undo window ends.");
      return;
    }
    const left = Math.round((item.leaseDeadline - Date.now()) / 1000);
    lease.hidden = false;
    lease.classList.toggle("warn", left <= LEASE_WARNING_SECONDS);
    lease.classList.toggle("over", left <= 0 || item.lost);
    if (item.lost) lease.textContent = t("Lease lost");
    else if (left <= 0) lease.textContent = t("Lease ran out");
    else lease.textContent = tf("Lease %(left)s", { left: clock(left, false) });
    lease.title = t("While you work on this page the lease renews itself every minute; after 10 idle minutes it stops.");
    if (left <= LEASE_WARNING_SECONDS && left > 0 && !this.leaseWarned && !item.lost) {
      this.leaseWarned = true;
      this.announce(tf("The lease on this clip ends in %(left)s. Submit, or press any key to keep it.", { left: clock(left, false) }));
    }
  },
};
