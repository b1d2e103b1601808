// The two transcripts: Whisper's words (timed, clickable, the one under the
// playhead highlighted, unsure ones marked) and the reviewer's corrected text
// with its live word diff against Whisper's.

import { diffWords, renderDiff, summarise, words } from "./diff.js";
import { t, tf } from "./i18n.js";

export const LOW_CONFIDENCE = 0.5;

/** Whisper's timed words as buttons: click one to seek to it. */
export class WhisperWords {
  constructor(container, { onSeek }) {
    this.container = container;
    this.onSeek = onSeek;
    this.words = [];
    this.spans = [];
    this.current = -1;
    container.addEventListener("click", (event) => {
      const span = event.target.closest("[data-index]");
      if (!span) return;
      this.onSeek(this.words[Number(span.dataset.index)].start);
    });
  }

  render(words, fallbackText = "") {
    this.words = (words || [])
      .map((w) => ({ ...w, word: String(w.word).trim() }))
      .filter((w) => w.word && Number.isFinite(w.start));
    this.current = -1;
    this.spans = this.words.map((w, index) => {
      const span = document.createElement("button");
      span.type = "button";
      span.tabIndex = -1; // the keyboard way is Alt+[ / Alt+]
      span.className = "word";
      span.dataset.index = String(index);
      span.textContent = w.word;
      const confidence = Number.isFinite(w.probability) ? Math.round(w.probability * 100) : null;
      if (confidence !== null && w.probability < LOW_CONFIDENCE) {
        span.classList.add("low");
        span.title = tf("Whisper was unsure: %(confidence)s %(percent)s · %(start)s s", { confidence, percent: "%", start: w.start.toFixed(2) });
      } else {
        span.title = `${confidence === null ? "" : `${confidence}% · `}${w.start.toFixed(2)} s`;
      }
      return span;
    });
    const fragment = document.createDocumentFragment();
    this.spans.forEach((span, i) => {
      if (i) fragment.append(" ");
      fragment.append(span);
    });
    if (!this.spans.length) {
      const empty = document.createElement("span");
      empty.className = "muted";
      empty.textContent = fallbackText || t("Whisper heard no words.");
      fragment.append(empty);
    }
    this.container.replaceChildren(fragment);
  }

  /** Index of the word being spoken at `time`, or -1 between words. */
  indexAt(time) {
    let lo = 0;
    let hi = this.words.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.words[mid].start <= time) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found >= 0 && time < Math.max(this.words[found].end, this.words[found].start + 0.05) ? found : -1;
  }

  highlight(time) {
    const index = this.indexAt(time);
    if (index === this.current) return;
    if (this.current >= 0) this.spans[this.current].classList.remove("playing");
    if (index >= 0) this.spans[index].classList.add("playing");
    this.current = index;
  }

  /** Start of the word after (direction 1) or before (-1) the playhead. */
  neighbourStart(time, direction) {
    const epsilon = 0.05;
    if (direction > 0) {
      const next = this.words.find((w) => w.start > time + epsilon);
      return next ? next.start : null;
    }
    // before: the start of the previous word, not of the one being spoken
    const starts = this.words.filter((w) => w.start < time - epsilon);
    const playing = this.indexAt(time);
    const candidates = playing >= 0 ? starts.filter((w) => w !== this.words[playing]) : starts;
    return candidates.length ? candidates[candidates.length - 1].start : 0;
  }
}

/** The reviewer's transcript with its live diff against Whisper's text. */
export class TranscriptEditor {
  constructor(textarea, { diff, summary }) {
    this.textarea = textarea;
    this.diff = diff;
    this.summary = summary;
    this.whisper = [];
    this.frame = 0;
    textarea.addEventListener("input", () => this.scheduleDiff());
  }

  load(whisperText) {
    this.whisper = words(whisperText || "");
    this.textarea.value = whisperText || "";
    this.textarea.readOnly = false;
    this.renderDiff();
  }

  get value() {
    return this.textarea.value;
  }

  focus() {
    this.textarea.focus();
    const end = this.textarea.value.length;
    this.textarea.setSelectionRange(end, end);
  }

  scheduleDiff() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.renderDiff();
    });
  }

  renderDiff() {
    const hunks = diffWords(this.whisper, words(this.textarea.value));
    renderDiff(this.diff, hunks);
    const s = summarise(hunks);
    this.summary.textContent = describe(s);
    this.diff.dataset.changes = String(s.errors);
    return s;
  }
}

function describe({ substitutions, deletions, insertions, errors, wer }) {
  if (!errors) return t("no changes");
  const parts = [];
  if (substitutions) parts.push(tf("%(n)s replaced", { n: substitutions }));
  if (deletions) parts.push(tf("%(n)s added", { n: deletions }));
  if (insertions) parts.push(tf("%(n)s removed", { n: insertions }));
  const rate = wer === null ? "" : ` · ${tf("Whisper WER ≈ %(wer)s", { wer: `${Math.round(wer * 100)}%` })}`;
  return parts.join(", ") + rate;
}
