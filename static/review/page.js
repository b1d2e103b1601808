// The review page controller: holds the clip under review and the prefetched
// next one, wires the player, the transcripts and the keys, and shows clips.
// Its other concerns are in their own modules, mixed into ReviewPage below:
//
//   claims.js   held clips, claiming, leases        submit.js   submit and retry
//   dialogs.js  skip, accidental, key help          grades.js   grade, intent, markers
//   plugins.js  the plugin host (docs/review-plugins.md)
//
// review.js boots it with the state from the template (json_script).

import { Api, newKey } from "./api.js";
import { Claims, Item, RENEW_EVERY_MS } from "./claims.js";
import { Dialogs } from "./dialogs.js";
import { byId as $, el } from "./dom.js";
import { clock } from "./format.js";
import { Grades, MARKERS } from "./grades.js";
import { bindKeys } from "./keys.js";
import { Player } from "./player.js";
import { PluginHost } from "./plugins.js";
import { Submitting } from "./submit.js";
import { TranscriptEditor, WhisperWords } from "./transcript.js";

export class ReviewPage {
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
    $("clip-meta").replaceChildren(...chips.map((text) => el("span", { className: "meta", text })));
  }

  // --- the player ----------------------------------------------------------------

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

Object.assign(ReviewPage.prototype, Claims, Submitting, Dialogs, Grades, PluginHost);
