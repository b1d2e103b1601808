// The review page controller: holds the clip under review and the prefetched
// next one, wires the player, the transcripts and the keys, and shows clips.
// Its other concerns are in their own modules, mixed into ReviewPage below:
//
//   claims.js   held clips, claiming, leases        submit.js   submit, the outbox's lines, undo
//   dialogs.js  skip, accidental, unheard, key help grades.js   grade, intent, markers
//   plugins.js  the plugin host (docs/review-plugins.md)
//
// Pure parts in their own modules, unit-tested with Node: outbox.js (submits kept and
// sent until the server answers), listening.js (what was heard), wordmap.js (Whisper's
// timings on the reviewer's text), diff.js, keys.js.
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
import { Outbox } from "./outbox.js";
import { PluginHost } from "./plugins.js";
import { Submitting } from "./submit.js";
import { TranscriptEditor, WhisperWords } from "./transcript.js";
import { stepWord, timeWords, wordAtTime } from "./wordmap.js";
import { t, tf } from "./i18n.js";

/** When the media element next starts playing (performance.now()), or null after 2 s. */
function whenPlaying(media) {
  if (!media.paused && media.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) return Promise.resolve(performance.now());
  return new Promise((resolve) => {
    media.addEventListener("playing", () => resolve(performance.now()), { once: true });
    setTimeout(() => resolve(null), 2000);
  });
}

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
    this.claiming = null;
    this.pendingTiming = null;
    this.timings = [];
    this.undoable = null; // the clip submitted last, kept (audio too) for undo: {item, key, snapshot, at}
    this.kept = new Map(); // entry key → the submitted clip, while its entry may still be reopened
    this.wordStep = null; // {index, time, caret}: where the word keys last put the playhead and caret
    this.amendMs = Math.max(0, Number(state.amend_seconds ?? 300)) * 1000;
    this.showToken = 0;
    this.lastActivity = Date.now();
    this.leaseWarned = false;
    this.done = Number(sessionStorage.getItem("annotate.review.done")) || 0;
    this.clipListeners = [];
    this.submitHooks = [];
    this.undoKeepers = []; // plugins' {save, restore} for a clip brought back by undo
    this.panels = new Map();
    this.notified = undefined; // the payload last passed to onClipChange listeners

    this.player = new Player($("waveform"), {
      onTime: (t) => this.onTime(t),
      onPlayState: (playing) => this.onPlayState(playing),
      onSettings: (settings) => this.renderSettings(settings),
      onSample: (sample) => this.onSample(sample),
      onLoop: (loop) => this.renderLoop(loop),
    });
    this.outbox = new Outbox({
      storage: localStorage,
      name: `annotate.review.outbox.${this.root.dataset.reviewer || "anonymous"}`,
      send: (taskId, body) => this.api.submit(taskId, body),
      onChange: () => this.scheduleOutbox(),
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
    // Submits this reviewer left unsent (a reload, a closed tab) go out now; their clips are not shown again.
    for (const taskId of this.outbox.waitingTasks) this.finished.add(taskId);
    this.items = this.state.tasks.filter((payload) => !this.finished.has(payload.task_id)).map((payload) => new Item(payload));
    this.started = true;
    this.renderOutbox();
    this.outbox.pump();
    if (this.items.length) this.showCurrent();
    else this.setView("empty");
    setInterval(() => this.renewAll(), RENEW_EVERY_MS);
    setInterval(() => this.tickLease(), 1000);
    setInterval(() => this.renderOutbox(), 1000); // retry countdowns, the undo window
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
    $("hear-clearly").addEventListener("click", () => this.hearClearly());
    $("loop").addEventListener("click", () => this.player.toggleLoop());
    $("undo").addEventListener("click", () => this.undo());
    $("unheard-confirm").addEventListener("click", () => this.confirmUnheard());
    $("outbox").addEventListener("click", (event) => {
      const button = event.target.closest("[data-reopen]");
      if (button) this.reopen(button.dataset.reopen);
    });
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
    // Another tab of this reviewer wrote the outbox: take in its answers.
    window.addEventListener("storage", (event) => {
      if (event.key === this.outbox.name) this.outbox.merge();
    });
  }

  keyHandlers() {
    const onClip = (fn) => () => {
      if (this.view === "clip") fn();
    };
    return {
      playPause: onClip(() => this.player.playPause()),
      replay: onClip(() => this.player.replay()),
      hearClearly: onClip(() => this.hearClearly()),
      prevWord: onClip(() => this.stepWord(-1)),
      nextWord: onClip(() => this.stepWord(1)),
      selectWord: onClip(() => this.selectWordAtPlayhead()),
      loop: onClip(() => this.player.toggleLoop()),
      undo: () => this.undo(),
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
      submit: (event) => (this.view === "clip" ? this.submit({ event }) : this.outbox.retryNow()),
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
      get audioUrl() {
        return page.items[0] ? page.items[0].payload.audio_url : null;
      },
      get muffled() {
        return page.items[0] ? page.items[0].muffled : null;
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
      get outbox() {
        return page.outbox.entries.map(({ key, taskId, state, attempts, error, reason, annotationId }) => ({
          key,
          taskId,
          state,
          attempts,
          error,
          reason,
          annotationId,
        }));
      },
      get listening() {
        const item = page.items[0];
        return item ? page.listeningOf(item) : null;
      },
      get playing() {
        return page.player.playing;
      },
      get currentTime() {
        return page.player.currentTime;
      },
      get loop() {
        return page.player.loopState;
      },
      get speed() {
        return page.player.speed;
      },
      timings: this.timings,
    };
  }

  // --- words: the playhead and the caret together (wordmap.js) ---------------------------

  timedWords() {
    const item = this.items[0];
    if (!item) return [];
    return timeWords(this.editor.value, item.payload.whisper.words, this.player.duration || item.payload.clip.duration);
  }

  /** Alt+[ / Alt+]: the playhead to the previous / next word's start, the caret to that word in the text. */
  stepWord(direction) {
    const timed = this.timedWords();
    const time = this.player.currentTime;
    const t = this.editor.textarea;
    const last = this.wordStep;
    const inStep =
      last && Math.abs(last.time - time) < 0.02 && t.selectionStart === last.caret && t.selectionEnd === last.caret;
    const index = stepWord(timed, { time, direction, from: inStep ? last.index : null });
    if (index < 0) return;
    const word = timed[index];
    this.player.seek(word.start);
    t.focus();
    t.setSelectionRange(word.from, word.from);
    this.wordStep = { index, time: this.player.currentTime, caret: word.from };
  }

  /** Alt+H: select the word under the playhead in the text; typing replaces it. */
  selectWordAtPlayhead() {
    const timed = this.timedWords();
    const index = Math.max(0, wordAtTime(timed, this.player.currentTime));
    const word = timed[index];
    if (!word) return;
    const t = this.editor.textarea;
    t.focus();
    t.setSelectionRange(word.from, word.to);
    this.wordStep = null;
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

  showCurrent({ restore = null } = {}) {
    const item = this.items[0];
    if (!item) {
      this.setView(this.claiming ? "loading" : "empty");
      return;
    }
    const token = ++this.showToken;
    const { clip, whisper } = item.payload;
    restore = restore || item.parked || this.refusedText(item);
    item.parked = null;
    item.key = item.key || newKey();
    item.shownAt = performance.now();
    this.leaseWarned = false;
    this.wordStep = null;
    // Heard at once: the buffered audio starts before anything is drawn; the waveform is bound
    // to it once it plays (drawing it first holds up the main thread the start is reported on).
    // A clip announced as likely distressing (or left to a human by the gate) never starts by itself.
    const primed = Boolean(item.audio && this.autoplay && item.audio.ready && !item.muffled);
    if (primed) {
      item.playingAt = whenPlaying(item.audio.media);
      this.player.prime(item.audio);
    }

    this.setView("clip");
    this.setReady(primed); // primed: playable (and playing) already; the waveform follows
    this.root.dataset.taskId = String(item.id);
    if (!primed) $("audio-state").textContent = t("Loading audio…");
    this.renderMeta(item.payload);
    this.renderProtection(item);
    $("heard").textContent = clip.heard || "—";
    $("response").textContent = clip.response || t("(no answer)");
    $("intent").textContent = clip.intent || "—";
    $("whisper-model").textContent = whisper.model ? `(${whisper.model})` : "";
    this.whisper.render(whisper.words, whisper.text);
    this.editor.load(whisper.text);
    this.grade = "";
    this.intent = null;
    for (const name of Object.keys(this.markers)) this.markers[name] = false;
    if (restore) this.restoreSnapshot(restore);
    this.renderChoices();
    this.setLostMode(false);
    this.tickLease();
    this.renderHeard();
    this.editor.focus();
    if (this.pendingTiming && this.pendingTiming.shownMs === undefined) {
      this.pendingTiming.shownMs = performance.now() - this.pendingTiming.started;
      this.pendingTiming.nextTaskId = item.id;
    }
    // The plugins hear of the clip after this frame is drawn (their panels are not what the reviewer looks at first).
    const notify = () => {
      if (token !== this.showToken) return;
      this.notifyClip();
      if (restore) this.restorePlugins(restore);
    };
    if (primed) requestAnimationFrame(() => setTimeout(notify, 0));
    else notify();

    if (primed) item.playingAt.then(() => token === this.showToken && this.attachAudio(item, token));
    else if (item.audio) this.attachAudio(item, token);
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
    const timing = this.pendingTiming;
    this.pendingTiming = null;
    const ms = (value) => Math.round(value * 10) / 10;
    const record = (playing) => {
      if (!timing) return;
      this.timings.push({
        task_id: timing.taskId,
        next_task_id: item.id,
        shown_ms: ms(timing.shownMs ?? performance.now() - timing.started), // on screen, editable
        playable_ms: ms(performance.now() - timing.started), // its audio attached, ready to play
        playing_ms: playing === null ? null : ms(playing - timing.started), // autoplay: playing
      });
    };
    if (this.autoplay && !item.muffled) {
      const playingAt = item.playingAt || whenPlaying(item.audio.media);
      item.playingAt = null;
      this.player.play();
      if (timing) playingAt.then((at) => record(at));
    } else {
      record(null);
    }
  }

  async audioFailed(item, error) {
    if (error && error.name === "AbortError") return;
    // A signed audio URL lives a few minutes: a fresh claim signs a new one.
    if (!item.refreshed && error && (error.status === 404 || error.status === 403)) {
      item.refreshed = true;
      $("audio-state").textContent = t("Loading audio (again)…");
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
    $("audio-state").textContent = t("The audio did not load. Skip the clip (Alt+S, then 1: audio problem).");
    this.pendingTiming = null;
  }

  /** The outbox's lines are drawn after the key press's frame (the next clip comes first), once per burst of changes. */
  scheduleOutbox() {
    if (this.outboxTimer) return;
    this.outboxTimer = setTimeout(() => {
      this.outboxTimer = null;
      this.renderOutbox();
    }, 0);
  }

  /** A submit of this clip the server refused (400), from the outbox (a reload): its text, to fix. */
  refusedText(item) {
    const refused = this.outbox.forTask(item.id).find((e) => e.state === "failed" && e.body);
    if (!refused) return null;
    const b = refused.body;
    return {
      text: b.corrected_text,
      grade: b.answer_grade || "",
      intent: b.intent_correct ?? null,
      markers: { no_speech: Boolean(b.no_speech), unintelligible: Boolean(b.unintelligible), other_language: Boolean(b.other_language) },
      plugins: [],
    };
  }

  /** The warning before a protected clip, and what protects the reviewer's ears and the speaker. */
  renderProtection(item) {
    const protection = item.payload.protection || {};
    const notice = $("protection");
    notice.hidden = !item.muffled;
    if (item.muffled) {
      $("protection-text").textContent = protection.likely_distressing
        ? t("This clip may be distressing. It plays muffled first; press Play when you are ready.")
        : t("This clip may be an accidental recording. It plays muffled first; if nobody spoke to the assistant, mark it accidental (Alt+A).");
    }
  }

  /** Hear the muffled clip clearly: its clear audio is fetched and shown in its place. */
  hearClearly() {
    const item = this.items[0];
    if (!item || !item.hearClearly()) return;
    const token = ++this.showToken;
    this.setReady(false);
    $("audio-state").textContent = t("Loading the clear audio…");
    this.renderProtection(item);
    item.audioPromise.then(
      () => token === this.showToken && this.attachAudio(item, token),
      (error) => token === this.showToken && this.audioFailed(item, error),
    );
  }

  renderMeta(payload) {
    const { clip, queue } = payload;
    const chips = [
      `${Number(clip.duration).toFixed(1)} s`,
      clip.locale,
      clip.device_type,
      queue.id !== this.state.queue_id ? queue.name : null,
      payload.protection && payload.protection.disguised ? t("voice disguised") : null,
      payload.protection && payload.protection.redacted ? t("personal data bleeped") : null,
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
    button.querySelector(".play-label").textContent = playing ? t("Pause") : t("Play");
  }

  /** A step of the playhead of the clip under review, for its listening record. */
  onSample({ time, playing, rate, ended, jump, duration }) {
    const item = this.items[0];
    if (!item || this.view !== "clip" || !item.audio || this.player.audio !== item.audio) return;
    item.listening.sample(time, { playing, rate, wallMs: performance.now(), ended, jump, duration });
    this.renderHeard();
  }

  /** {listened_fraction, playback_rate} of an item so far. */
  listeningOf(item) {
    const duration = (item.audio && item.audio.media.duration) || item.payload.clip.duration || 0;
    return { listened_fraction: item.listening.fraction(duration), playback_rate: item.listening.meanRate(this.player.speed) };
  }

  renderHeard() {
    const item = this.items[0];
    const chip = $("heard-share");
    if (!item) return;
    const share = Math.floor(this.listeningOf(item).listened_fraction * 100);
    if (chip.dataset.share === String(share)) return;
    chip.dataset.share = String(share);
    chip.textContent = tf("heard %(share)s%(percent)s", { share, percent: "%" });
    chip.classList.toggle("full", share >= 95);
  }

  renderLoop(loop) {
    const button = $("loop");
    button.setAttribute("aria-pressed", String(Boolean(loop)));
    if (loop) this.announce(tf("Looping %(start)s to %(end)s", { start: clock(loop.start), end: clock(loop.end) }));
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
    $("done-count").textContent = tf("%(n)s reviewed", { n: this.done });
  }
}

Object.assign(ReviewPage.prototype, Claims, Submitting, Dialogs, Grades, PluginHost);
