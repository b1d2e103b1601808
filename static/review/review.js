// The review page controller: holds the clip under review and the prefetched
// next one, wires the player, the transcripts, the grades and the keys, and
// talks to the API. Initial state comes from the template (json_script).
// Features in their own modules (entity spans, flagging, second opinions) plug
// in through a small host object: see docs/review-plugins.md and host() below.

import { Api, backoffMs, isRetryable, newKey, post } from "./api.js";
import {
  DIALOG_KEYS,
  GROUP_TITLES,
  KEYMAP,
  ariaShortcuts,
  bindKeys,
  kbd,
  matches,
  primaryCombo,
  register,
} from "./keys.js";
import { ClipAudio, Player } from "./player.js";
import { TranscriptEditor, WhisperWords } from "./transcript.js";

const RENEW_EVERY_MS = 60_000;
const IDLE_AFTER_MS = 10 * 60_000; // an idle tab stops renewing, so its clips go back to the queue
const LEASE_WARNING_SECONDS = 120;
const GRADE_ACTIONS = { right: "gradeRight", partly: "gradePartly", wrong: "gradeWrong", cant_tell: "gradeCantTell" };
const MARKERS = { noSpeech: "no_speech", unintelligible: "unintelligible", otherLanguage: "other_language" };
const MARKER_NAMES = { no_speech: "No speech", unintelligible: "Unintelligible", other_language: "Other language" };

// Page plugins, installed in this order once the first clip is on screen. Each is
// loaded on its own: one that fails to load or install leaves the rest working.
const PLUGINS = ["./spans.js", "./flag.js", "./ask.js"];

const $ = (id) => document.getElementById(id);

/** A held task, its audio fetched as soon as the task is known. */
class Item {
  constructor(payload) {
    this.payload = payload;
    this.audio = null;
    this.lost = false;
    this.key = null;
    this.shownAt = 0;
    this.refreshed = false;
    this.setLease(payload.lease_expires_at);
    this.fetchAudio();
  }

  get id() {
    return this.payload.task_id;
  }

  fetchAudio() {
    this.abort = new AbortController();
    this.audioPromise = ClipAudio.fetch(this.payload.audio_url, { signal: this.abort.signal }).then((audio) => {
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

class ReviewPage {
  constructor(state) {
    this.state = state;
    this.api = new Api(state.urls);
    this.root = $("review");
    this.items = []; // items[0] is the clip under review, the rest are prefetched
    this.finished = new Set(); // task ids submitted or skipped here: a late claim answer may still list them
    this.view = "loading";
    this.grade = "";
    this.intent = null;
    this.markers = { no_speech: false, unintelligible: false, other_language: false };
    this.saving = false;
    this.retryNow = null;
    this.claiming = null;
    this.pendingTiming = null;
    this.timings = [];
    this.showToken = 0;
    this.lastActivity = Date.now();
    this.leaseWarned = false;
    this.done = Number(sessionStorage.getItem("annotate.review.done")) || 0;
    this.clipListeners = [];
    this.submitHooks = [];
    this.panels = new Map();
    this.notified = undefined; // the payload last passed to onClipChange listeners

    this.player = new Player($("waveform"), {
      onTime: (t) => this.onTime(t),
      onPlayState: (playing) => this.onPlayState(playing),
      onSettings: (settings) => this.renderSettings(settings),
    });
    this.whisper = new WhisperWords($("whisper-words"), {
      onSeek: (t) => {
        this.player.seek(t);
        this.player.play();
      },
    });
    this.editor = new TranscriptEditor($("transcript"), { diff: $("diff"), summary: $("diff-summary") });
    this.autoplay = localStorage.getItem("annotate.review.autoplay") !== "0";

    this.decorateKeys();
    this.buildHelp();
    this.wire();
    this.renderSettings(this.player.settings);
    this.renderCount();
    this.exposeHook();
  }

  start() {
    this.items = this.state.tasks.map((payload) => new Item(payload));
    if (this.items.length) this.showCurrent();
    else this.setView("empty");
    setInterval(() => this.renewAll(), RENEW_EVERY_MS);
    setInterval(() => this.tickLease(), 1000);
    this.loadPlugins();
  }

  // --- plugins ----------------------------------------------------------------------

  async loadPlugins() {
    const host = this.host();
    const modules = await Promise.allSettled(PLUGINS.map((path) => import(path)));
    modules.forEach((result, index) => {
      try {
        if (result.status === "rejected") throw result.reason;
        result.value.install(host);
      } catch (error) {
        console.error(`review plugin ${PLUGINS[index]} did not load`, error);
      }
    });
  }

  /** What a plugin gets (docs/review-plugins.md). */
  host() {
    const page = this;
    return {
      panel: (id, title) => page.panel(id, title),
      current: () => page.currentPayload(),
      onClipChange(callback) {
        page.clipListeners.push(callback);
        if (page.notified !== undefined) safely(callback, page.notified);
      },
      onBeforeSubmit: (callback) => page.submitHooks.push(callback),
      keys: { register: (binding) => register(binding) },
      api: {
        async post(url, body) {
          const { status, data } = await post(url, body);
          return { ok: status >= 200 && status < 300, status, data };
        },
      },
      config: (name) => pluginConfig(name),
      textarea: $("transcript"),
      player: {
        seek: (seconds) => page.player.seek(seconds),
        currentTime: () => page.player.currentTime,
        pause: () => page.player.stop(),
      },
      status: (message, kind = "info") => page.setSave({ ok: "saved", error: "error" }[kind] || "info", message),
      draft() {
        const item = page.items[0];
        if (!item || page.view !== "clip") return null;
        const seconds = Math.round(performance.now() - item.shownAt) / 1000;
        const { idempotency_key: _key, ...body } = page.submission(item, { accidental: false, seconds });
        return body;
      },
      advance() {
        page.advance();
        page.topUp();
      },
    };
  }

  /**
   * A card in the side column for a plugin (created once per id): a heading,
   * and the <section> returned, which is the plugin's to fill (or replace the
   * children of) as it likes.
   */
  panel(id, title) {
    if (!this.panels.has(id)) {
      const card = document.createElement("div");
      card.className = "card plugin-panel";
      card.id = `panel-${id}`;
      const heading = document.createElement("h2");
      heading.className = "section-title";
      heading.id = `panel-${id}-title`;
      heading.textContent = title;
      const section = document.createElement("section");
      section.className = "panel-body";
      section.setAttribute("aria-labelledby", heading.id);
      card.append(heading, section);
      $("side-panels").append(card);
      this.panels.set(id, section);
    }
    return this.panels.get(id);
  }

  currentPayload() {
    return this.view === "clip" && this.items[0] ? this.items[0].payload : null;
  }

  notifyClip() {
    const payload = this.currentPayload();
    if (payload === this.notified) return;
    this.notified = payload;
    for (const callback of this.clipListeners) safely(callback, payload);
  }

  // --- wiring ---------------------------------------------------------------------

  wire() {
    bindKeys({ handlers: this.keyHandlers(), intercept: (event) => this.dialogKeys(event) });

    for (const type of ["keydown", "pointerdown", "input"]) {
      document.addEventListener(type, () => this.activity(), { capture: true, passive: true });
    }
    $("clip").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    $("play").addEventListener("click", () => this.player.playPause());
    $("replay").addEventListener("click", () => this.player.replay());
    for (const button of document.querySelectorAll(".speed-option")) {
      button.addEventListener("click", () => this.player.setSpeed(Number(button.dataset.speed)));
    }
    $("volume").addEventListener("input", (event) => this.player.setVolume(Number(event.target.value)));
    $("autoplay").checked = this.autoplay;
    $("autoplay").addEventListener("change", (event) => {
      this.autoplay = event.target.checked;
      localStorage.setItem("annotate.review.autoplay", this.autoplay ? "1" : "0");
    });
    for (const button of document.querySelectorAll(".grade")) {
      button.addEventListener("click", () => this.setGrade(button.dataset.grade));
    }
    for (const button of document.querySelectorAll(".intent-option")) {
      button.addEventListener("click", () => this.setIntent(button.dataset.intent === "true"));
    }
    for (const button of document.querySelectorAll("[data-marker]")) {
      button.addEventListener("click", () => this.toggleMarker(button.dataset.marker));
    }
    $("skip").addEventListener("click", () => this.openSkip());
    $("accidental").addEventListener("click", () => this.openAccidental());
    $("accidental-confirm").addEventListener("click", () => this.confirmAccidental());
    $("help-button").addEventListener("click", () => this.toggleHelp());
    $("check-again").addEventListener("click", () => this.checkAgain());
    for (const button of document.querySelectorAll("[data-reason]")) {
      button.addEventListener("click", () => this.pickReason(button.dataset.reason));
    }
    for (const dialog of document.querySelectorAll("dialog")) {
      dialog.addEventListener("close", () => {
        if (this.view === "clip" && !document.querySelector("dialog[open]")) this.editor.focus();
      });
    }
    window.addEventListener("beforeunload", (event) => {
      if (this.saving) event.preventDefault(); // a submit is still being saved
    });
  }

  keyHandlers() {
    const onClip = (fn) => () => {
      if (this.view === "clip") fn();
    };
    const seekWord = (direction) =>
      onClip(() => {
        const start = this.whisper.neighbourStart(this.player.currentTime, direction);
        if (start !== null) this.player.seek(start);
      });
    return {
      playPause: onClip(() => this.player.playPause()),
      replay: onClip(() => this.player.replay()),
      prevWord: seekWord(-1),
      nextWord: seekWord(1),
      slower: () => this.player.stepSpeed(-1),
      faster: () => this.player.stepSpeed(1),
      volumeUp: () => this.player.stepVolume(1),
      volumeDown: () => this.player.stepVolume(-1),
      focusTranscript: onClip(() => this.editor.focus()),
      noSpeech: onClip(() => this.toggleMarker(MARKERS.noSpeech)),
      unintelligible: onClip(() => this.toggleMarker(MARKERS.unintelligible)),
      otherLanguage: onClip(() => this.toggleMarker(MARKERS.otherLanguage)),
      gradeRight: onClip(() => this.setGrade("right")),
      gradePartly: onClip(() => this.setGrade("partly")),
      gradeWrong: onClip(() => this.setGrade("wrong")),
      gradeCantTell: onClip(() => this.setGrade("cant_tell")),
      intent: onClip(() => this.cycleIntent()),
      submit: onClip(() => this.submit()),
      skip: onClip(() => this.openSkip()),
      accidental: onClip(() => this.openAccidental()),
      help: () => this.toggleHelp(),
    };
  }

  /** While a dialog is open, keys belong to it (returns true: the page's keys stay off). */
  dialogKeys(event) {
    const open = document.querySelector("dialog[open]");
    if (!open) return false;
    const helpKeys = KEYMAP.find((b) => b.action === "help").keys;
    if (open.id === "help" && helpKeys.some((combo) => matches(event, combo))) {
      event.preventDefault();
      open.close();
    } else if (open.id === "skip-dialog") {
      const note = $("skip-note");
      const reasons = [...document.querySelectorAll("[data-reason]")];
      const digit = /^[1-9]$/.test(event.key) ? Number(event.key) : 0;
      if (event.target !== note && digit && digit <= reasons.length && !event.ctrlKey && !event.altKey) {
        event.preventDefault();
        this.pickReason(reasons[digit - 1].dataset.reason);
      } else if (event.target === note && event.key === "Enter") {
        event.preventDefault();
        this.doSkip("other", note.value.trim());
      }
    } else if (open.id === "accidental-dialog" && event.key === "Enter" && !event.repeat) {
      event.preventDefault();
      this.confirmAccidental();
    }
    return true;
  }

  /** aria-keyshortcuts on everything with a key, and a <kbd> hint on buttons and hint slots. */
  decorateKeys() {
    for (const button of document.querySelectorAll(".grade")) {
      button.dataset.action = GRADE_ACTIONS[button.dataset.grade] || "";
    }
    for (const element of document.querySelectorAll("[data-action]")) {
      const action = element.dataset.action;
      const combo = primaryCombo(action);
      if (!combo) continue;
      element.setAttribute("aria-keyshortcuts", ariaShortcuts(action));
      if (element.tagName === "BUTTON" || element.classList.contains("hint-slot")) {
        const hint = kbd(combo);
        hint.classList.add("hint");
        hint.setAttribute("aria-hidden", "true");
        element.append(hint);
      }
    }
    document.querySelector(".speed").title = "Alt+, slower · Alt+. faster";
  }

  buildHelp() {
    const container = $("help-keys");
    container.replaceChildren();
    const groups = new Map();
    for (const binding of KEYMAP) {
      if (!groups.has(binding.group)) groups.set(binding.group, []);
      groups.get(binding.group).push(binding);
    }
    const section = (title, rows) => {
      const box = document.createElement("section");
      const heading = document.createElement("h3");
      heading.textContent = title;
      const list = document.createElement("dl");
      for (const { keys, label } of rows) {
        const dt = document.createElement("dt");
        keys.forEach((combo, i) => {
          if (i) dt.append(" or ");
          dt.append(kbd(combo));
        });
        const dd = document.createElement("dd");
        dd.textContent = label;
        list.append(dt, dd);
      }
      box.append(heading, list);
      container.append(box);
    };
    for (const [group, rows] of groups) section(GROUP_TITLES[group] || group, rows);
    section("In dialogs", DIALOG_KEYS);
  }

  exposeHook() {
    // For tests and bench/review_browser.py: what is on screen, and how fast it got there.
    const page = this;
    window.__review = {
      get taskId() {
        return page.items[0] ? page.items[0].id : null;
      },
      get ready() {
        return page.root.dataset.ready === "true";
      },
      get view() {
        return page.view;
      },
      get duration() {
        return page.player.duration;
      },
      get held() {
        return page.items.map((item) => ({ taskId: item.id, audioReady: Boolean(item.audio && item.audio.ready) }));
      },
      timings: this.timings,
    };
  }

  // --- showing clips ------------------------------------------------------------

  setView(view) {
    this.view = view;
    this.root.dataset.view = view;
    this.root.setAttribute("aria-busy", view === "loading" ? "true" : "false");
    $("loading").hidden = view !== "loading";
    $("empty").hidden = view !== "empty";
    $("clip").hidden = view !== "clip";
    if (view !== "clip") {
      this.setReady(false);
      this.root.dataset.taskId = "";
      $("clip-meta").replaceChildren();
      $("lease").hidden = true;
    }
    if (view === "empty") $("home-link").focus();
    if (view !== "clip") this.notifyClip();
  }

  setReady(ready) {
    this.root.dataset.ready = ready ? "true" : "false";
    $("audio-state").hidden = ready;
  }

  showCurrent() {
    const item = this.items[0];
    if (!item) {
      this.setView(this.claiming ? "loading" : "empty");
      return;
    }
    const token = ++this.showToken;
    const { clip, whisper } = item.payload;
    item.key = item.key || newKey();
    item.shownAt = performance.now();
    this.leaseWarned = false;

    this.setView("clip");
    this.setReady(false);
    this.root.dataset.taskId = String(item.id);
    $("audio-state").textContent = "Loading audio…";
    this.renderMeta(item.payload);
    $("heard").textContent = clip.heard || "—";
    $("response").textContent = clip.response || "(no answer)";
    $("intent").textContent = clip.intent || "—";
    $("whisper-model").textContent = whisper.model ? `(${whisper.model})` : "";
    this.whisper.render(whisper.words, whisper.text);
    this.editor.load(whisper.text);
    this.grade = "";
    this.intent = null;
    for (const name of Object.keys(this.markers)) this.markers[name] = false;
    this.renderChoices();
    this.setLostMode(false);
    this.tickLease();
    this.editor.focus();
    this.notifyClip();

    if (item.audio) this.attachAudio(item, token);
    else {
      item.audioPromise.then(
        () => token === this.showToken && this.attachAudio(item, token),
        (error) => token === this.showToken && this.audioFailed(item, error),
      );
    }
  }

  async attachAudio(item, token) {
    try {
      await this.player.show(item.payload.clip, item.audio);
    } catch (error) {
      if (token === this.showToken) this.audioFailed(item, error);
      return;
    }
    if (token !== this.showToken) return;
    this.setReady(true);
    if (this.pendingTiming) {
      const { taskId, started, postMs } = this.pendingTiming;
      this.timings.push({
        task_id: taskId,
        next_task_id: item.id,
        post_ms: Math.round(postMs * 10) / 10,
        playable_ms: Math.round((performance.now() - started) * 10) / 10,
      });
      this.pendingTiming = null;
    }
    if (this.autoplay) this.player.play();
  }

  async audioFailed(item, error) {
    if (error && error.name === "AbortError") return;
    // A signed audio URL lives a few minutes: a fresh claim signs a new one.
    if (!item.refreshed && error && (error.status === 404 || error.status === 403)) {
      item.refreshed = true;
      $("audio-state").textContent = "Loading audio (again)…";
      await this.topUp();
      if (this.items[0] !== item) return;
      item.fetchAudio();
      const token = this.showToken;
      item.audioPromise.then(
        () => token === this.showToken && this.attachAudio(item, token),
        (again) => token === this.showToken && this.audioFailed(item, again),
      );
      return;
    }
    $("audio-state").textContent = "The audio did not load. Skip the clip (Alt+S, then 1: audio problem).";
    this.pendingTiming = null;
  }

  renderMeta(payload) {
    const { clip, queue } = payload;
    const chips = [
      `${Number(clip.duration).toFixed(1)} s`,
      clip.locale,
      clip.device_type,
      queue.id !== this.state.queue_id ? queue.name : null,
    ].filter(Boolean);
    $("clip-meta").replaceChildren(
      ...chips.map((text) => {
        const chip = document.createElement("span");
        chip.className = "meta";
        chip.textContent = text;
        return chip;
      }),
    );
  }

  // --- the reviewer's choices ---------------------------------------------------

  setGrade(value) {
    this.grade = this.grade === value ? "" : value;
    this.renderChoices();
    const label = document.querySelector(`.grade[data-grade="${value}"]`)?.firstChild?.textContent?.trim();
    this.announce(this.grade ? `Answer: ${label}` : "Answer not graded");
  }

  setIntent(value) {
    this.intent = this.intent === value ? null : value;
    this.renderChoices();
    this.announce(this.intent === null ? "Intent not graded" : this.intent ? "Intent right" : "Intent wrong");
  }

  cycleIntent() {
    this.intent = this.intent === null ? true : this.intent === true ? false : null;
    this.renderChoices();
    this.announce(this.intent === null ? "Intent not graded" : this.intent ? "Intent right" : "Intent wrong");
  }

  toggleMarker(name) {
    this.markers[name] = !this.markers[name];
    this.renderChoices();
    this.announce(`${MARKER_NAMES[name]} ${this.markers[name] ? "marked" : "unmarked"}`);
  }

  renderChoices() {
    for (const button of document.querySelectorAll(".grade")) {
      button.setAttribute("aria-pressed", String(button.dataset.grade === this.grade));
    }
    for (const button of document.querySelectorAll(".intent-option")) {
      button.setAttribute("aria-pressed", String(this.intent !== null && String(this.intent) === button.dataset.intent));
    }
    for (const button of document.querySelectorAll("[data-marker]")) {
      button.setAttribute("aria-pressed", String(this.markers[button.dataset.marker]));
    }
  }

  renderSettings({ speed, volume }) {
    for (const button of document.querySelectorAll(".speed-option")) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.speed) === speed));
    }
    $("volume").value = String(volume);
    $("volume").setAttribute("aria-valuetext", `${Math.round(volume * 100)}%`);
  }

  onTime(seconds) {
    this.whisper.highlight(seconds);
    $("time").textContent = `${clock(seconds)} / ${clock(this.player.duration)}`;
  }

  onPlayState(playing) {
    const button = $("play");
    button.classList.toggle("playing", playing);
    button.setAttribute("aria-label", playing ? "Pause" : "Play");
    button.querySelector(".play-label").textContent = playing ? "Pause" : "Play";
  }

  // --- submit -------------------------------------------------------------------

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
  }

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
        const why =
          status === 0
            ? data.error
            : status === 401
              ? "you are signed out; sign in again in another tab"
              : `the server answered ${status}`;
        await this.waitToRetry(backoffMs(attempt), why);
        if (this.items[0] !== item) return;
      }
    } finally {
      this.saving = false;
      this.retryNow = null;
      delete this.root.dataset.saving;
    }
  }

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
  }

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
  }

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
  }

  setLostMode(lost) {
    const submit = $("submit");
    submit.firstChild.textContent = lost ? "Next clip" : "Submit";
    if (!lost) this.notice("");
  }

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
  }

  // --- claims and leases --------------------------------------------------------

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
        this.notice(`Could not load the next clip (${data.error || status}). Trying again…`);
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
  }

  reconcile(payloads) {
    const current = this.items[0] || null;
    const known = new Map(this.items.map((item) => [item.id, item]));
    const next = current ? [current] : [];
    for (const payload of payloads) {
      if (this.finished.has(payload.task_id)) continue; // answered before this skip or submit landed
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
  }

  checkAgain() {
    this.setView("loading");
    this.topUp();
  }

  activity() {
    const wasIdle = Date.now() - this.lastActivity > IDLE_AFTER_MS;
    this.lastActivity = Date.now();
    if (wasIdle) this.renewAll();
  }

  async renewAll() {
    if (Date.now() - this.lastActivity > IDLE_AFTER_MS) return;
    for (const item of [...this.items]) {
      if (item.lost) continue;
      const { status, data } = await this.api.renew(item.id);
      if (status === 200) {
        item.setLease(data.lease_expires_at);
      } else if (status === 409) {
        if (item === this.items[0]) {
          if (!this.saving) this.clipGone(item, data);
        } else {
          this.items = this.items.filter((other) => other !== item);
          item.release();
          this.topUp();
        }
      }
    }
    this.tickLease();
  }

  tickLease() {
    const item = this.items[0];
    const lease = $("lease");
    if (!item || this.view !== "clip" || !item.leaseDeadline) {
      lease.hidden = true;
      return;
    }
    const left = Math.round((item.leaseDeadline - Date.now()) / 1000);
    lease.hidden = false;
    lease.classList.toggle("warn", left <= LEASE_WARNING_SECONDS);
    lease.classList.toggle("over", left <= 0 || item.lost);
    if (item.lost) lease.textContent = "Lease lost";
    else if (left <= 0) lease.textContent = "Lease ran out";
    else lease.textContent = `Lease ${clock(left, false)}`;
    lease.title = "While you work on this page the lease renews itself every minute; after 10 idle minutes it stops.";
    if (left <= LEASE_WARNING_SECONDS && left > 0 && !this.leaseWarned && !item.lost) {
      this.leaseWarned = true;
      this.announce(`The lease on this clip ends in ${clock(left, false)}. Submit, or press any key to keep it.`);
    }
  }

  // --- skip and accidental ------------------------------------------------------

  openSkip() {
    if (this.saving) return this.announce("Wait: the last submit is still being saved.");
    $("skip-note-row").hidden = true;
    $("skip-note").value = "";
    $("skip-dialog").showModal();
    document.querySelector("[data-reason]")?.focus();
  }

  pickReason(reason) {
    if (reason === "other" && $("skip-note-row").hidden) {
      $("skip-note-row").hidden = false;
      $("skip-note").focus();
      return;
    }
    this.doSkip(reason, reason === "other" ? $("skip-note").value.trim() : "");
  }

  async doSkip(reason, note) {
    const item = this.items[0];
    $("skip-dialog").close();
    if (!item) return;
    this.setSave("saving", "Skipping…");
    const { status, data } = await this.api.skip(item.id, reason, note);
    if (this.items[0] !== item) return;
    if (status === 200 || status === 409) {
      // 409: the clip had gone already (lease lost, withdrawn for escalation): say why; nothing to retry.
      if (status === 200) this.setSave("saved", "Skipped: the clip went back to the queue.");
      else this.setSave("info", sentence(data.error || "this clip is no longer yours"));
      this.advance();
      this.topUp();
    } else {
      this.setSave("error", `Not skipped: ${data.error || `the server answered ${status}`}.`);
    }
  }

  openAccidental() {
    if (this.saving) return this.announce("Wait: the last submit is still being saved.");
    $("accidental-dialog").showModal();
    $("accidental-confirm").focus();
  }

  confirmAccidental() {
    $("accidental-dialog").close();
    this.submit({ accidental: true });
  }

  toggleHelp() {
    const help = $("help");
    if (help.open) help.close();
    else if (!document.querySelector("dialog[open]")) {
      this.buildHelp(); // plugins may have added keys since
      help.showModal();
    }
  }

  // --- status ---------------------------------------------------------------------

  setSave(kind, text) {
    const status = $("save-status");
    status.dataset.kind = kind;
    status.textContent = text;
  }

  notice(text) {
    const box = $("notice");
    box.textContent = text;
    box.hidden = !text;
  }

  announce(text) {
    const live = $("announce");
    live.textContent = "";
    requestAnimationFrame(() => {
      live.textContent = text;
    });
  }

  renderCount() {
    $("done-count").textContent = `${this.done} reviewed`;
  }
}

/** A plugin's URLs and choices from the server: the json_script "<name>-state" (empty if there is none). */
function pluginConfig(name) {
  const script = document.getElementById(`${name}-state`);
  return script ? JSON.parse(script.textContent) : {};
}

/** Run a plugin's callback; its failure is logged, never the page's. */
function safely(callback, ...args) {
  try {
    callback(...args);
  } catch (error) {
    console.error("review plugin callback failed", error);
  }
}

/** 75.3 → "1:15.3"; with tenths = false, "1:15". */
/** A server message as a sentence: capital first letter, full stop at the end. */
function sentence(text) {
  const trimmed = text.trim().replace(/[.\s]+$/, "");
  return trimmed ? `${trimmed[0].toUpperCase()}${trimmed.slice(1)}.` : "";
}

function clock(seconds, tenths = true) {
  const s = Math.max(0, Number.isFinite(seconds) ? seconds : 0);
  const minutes = Math.floor(s / 60);
  const rest = s - minutes * 60;
  const text = tenths ? rest.toFixed(1).padStart(4, "0") : String(Math.floor(rest)).padStart(2, "0");
  return `${minutes}:${text}`;
}

const state = JSON.parse($("review-state").textContent);
new ReviewPage(state).start();
