// Entity spans, the suggestions: spans the catalog proposes for the corrected
// text (annotate/catalog, POST {text} → {suggestions}), fetched a moment after
// typing stops, moved with the text, and accepted or rejected by the reviewer.

import { el } from "../dom.js";
import { edgesGlued, fold, moveSpan, overlaps } from "./offsets.js";
import { t } from "../i18n.js";

export const SUGGEST_DEBOUNCE_MS = 600;

/** What a rejection remembers: the same name for the same entry is not suggested again on this clip. */
export function suggestionKey(s) {
  return `${s.kind}|${s.entity.id}|${fold(s.text)}`;
}

/** Suggestions after an edit (`change` from diffRange): moved with their words, gone if their words changed. */
export function moveSuggestions(suggestions, change, text) {
  return suggestions.flatMap((s) => {
    const moved = moveSpan(s, change, text);
    if (moved.status === "removed" || moved.status === "recheck") return [];
    return [{ ...s, start: moved.start, end: moved.end }];
  });
}

/** The suggestions to show and accept: none whose words run on into the next ones while typing. */
export function visibleSuggestions(suggestions, text) {
  return suggestions.filter((s) => !edgesGlued(text, s));
}

/** The clip's suggestions. `post(url, body)` is the page's JSON POST; `onChange()` re-renders. */
export class Suggestions {
  constructor({ url, post, onChange }) {
    this.url = url;
    this.post = post;
    this.onChange = onChange;
    this.items = [];
    this.rejected = new Set();
    this.generation = 0; // one per clip: a late answer for the last clip is dropped
    this.timer = 0;
  }

  reset() {
    this.generation += 1;
    this.items = [];
    this.rejected = new Set();
    clearTimeout(this.timer);
  }

  /** Fetch again once typing pauses; `read()` → {text, spans} at the time. */
  schedule(read) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fetch(read), SUGGEST_DEBOUNCE_MS);
  }

  async fetch(read) {
    const generation = this.generation;
    const { text } = read();
    if (!text.trim()) {
      this.items = [];
      this.onChange();
      return;
    }
    const { status, data } = await this.post(this.url, { text });
    const now = read();
    if (generation !== this.generation || now.text !== text || status !== 200) return;
    this.items = (data.suggestions || []).filter(
      (s) => !this.rejected.has(suggestionKey(s)) && !now.spans.some((span) => overlaps(span, s)),
    );
    this.onChange();
  }

  visible(text) {
    return visibleSuggestions(this.items, text);
  }

  move(change, text) {
    this.items = moveSuggestions(this.items, change, text);
  }

  /** A span was tagged: suggestions over its words go. */
  dropOverlapping(span) {
    this.items = this.items.filter((s) => !overlaps(s, span));
  }

  reject(suggestion) {
    this.items = this.items.filter((s) => s !== suggestion);
    this.rejected.add(suggestionKey(suggestion));
  }

  /** Make this one the next (the one Alt+Y / Alt+Z act on). */
  toFront(suggestion) {
    this.items = [suggestion, ...this.items.filter((s) => s !== suggestion)];
  }

  /** Fill the panel's list; `kind(slug)`, `kindClass(slug)`, `keyHint(combo)`, `onAccept(s)`, `onReject(s)`. */
  render(list, text, { kind, kindClass, keyHint, onAccept, onReject }) {
    const items = this.visible(text).map((s, i) =>
      el(
        "li",
        { className: `spans-item${i === 0 ? " next" : ""}` },
        el("mark", { className: `suggestion ${kindClass(s.kind)}`, text: s.text }),
        el("span", { className: "spans-kind-name", text: kind(s.kind).name }),
        el("span", { className: "spans-linked", text: `→ ${s.entity.name}` }),
        el("span", { className: "spans-gap" }),
        el(
          "button",
          { type: "button", className: "small", onclick: () => onAccept(s) },
          t("Accept"),
          i === 0 ? keyHint("Alt+Y") : null,
        ),
        el(
          "button",
          { type: "button", className: "small", onclick: () => onReject(s) },
          t("Reject"),
          i === 0 ? keyHint("Alt+Z") : null,
        ),
      ),
    );
    if (!items.length) items.push(el("li", { className: "muted small", text: t("No suggestions.") }));
    list.replaceChildren(...items);
  }
}
