// Entity spans, the tagger: select words, give them a kind, link them to the
// catalog (or mark them "not in catalog"), accept or reject suggested spans —
// all from the keyboard. Installed by ../spans.js (a review-page plugin,
// docs/review-plugins.md); the key map and the rules are in docs/entities.md.
//
// Spans are character offsets into the textarea's text. They are kept right
// while the reviewer edits: every input event is diffed against the previous
// text (./offsets.js), spans after the change move with their words, and a span
// whose own words changed is marked "re-check" (or dropped, with a message, when
// its words are gone). Never silently wrong.

import { el } from "../dom.js";
import { digitOf } from "../keys.js";
import { diffRange, edgesGlued, extendSelection, moveSpan, overlaps, trimRange, wordAt } from "./offsets.js";
import { LinkBox } from "./search.js";
import { Suggestions } from "./suggestions.js";
import { t as tt, tf as ttf } from "../i18n.js";

/** The tagger's keys, registered with the page's key map (help overlay). */
export const SPAN_KEYS = [
  { action: "extendRight", combo: "Alt+Shift+ArrowRight", label: tt("Select the next word too (from the caret)") },
  { action: "extendLeft", combo: "Alt+Shift+ArrowLeft", label: tt("Select the previous word too") },
  { action: "tag", combo: "Alt+N", label: tt("Tag the selected words as an entity… (then the kind’s number)") },
  { action: "link", combo: "Alt+L", label: tt("Link the span at the caret to the catalog (or re-check it)") },
  { action: "accept", combo: "Alt+Y", label: tt("Accept the next suggested span") },
  { action: "reject", combo: "Alt+Z", label: tt("Reject the next suggested span") },
  { action: "remove", combo: "Alt+Delete", label: tt("Remove the span at the caret") },
];

/** A key as a hint (a label, not a key matcher: keys.js matches keys). */
function keyHint(combo) {
  return el("kbd", { text: combo.replace("Arrow", "").replace("Right", "→").replace("Left", "←") });
}

export class SpanTagger {
  constructor(review) {
    this.review = review;
    this.textarea = review.textarea;
    this.urls = review.config("spans").urls; // annotate/catalog/templatetags/catalog_review.py
    this.kinds = [];
    this.spans = [];
    this.mode = null; // {type: "kind", start, end} | {type: "link", span}
    this.last = this.textarea.value;
    this.nextId = 1;
    this.suggestions = new Suggestions({
      url: this.urls.suggest,
      post: (url, body) => review.api.post(url, body),
      onChange: () => this.render(),
    });
    this.linkBox = new LinkBox({
      url: this.urls.search,
      keyHint,
      onLink: (span, entry) => this.link(span, entry),
      onNotInCatalog: (span, name) => this.notInCatalog(span, name),
      onLater: (span) => this.later(span),
      say: (message, kind) => this.say(message, kind),
    });
    this.ready = this.loadKinds();
    this.build();
    this.wire();
  }

  // --- set-up --------------------------------------------------------------------

  async loadKinds() {
    try {
      const response = await fetch(this.urls.kinds, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(ttf("the server answered %(status)s", { status: response.status }));
      this.kinds = (await response.json()).kinds;
    } catch (error) {
      this.say(ttf("Entity kinds did not load (%(why)s): reload the page to tag entities.", { why: error.message }), "error");
    }
    this.renderPrompt();
  }

  build() {
    const panel = this.review.panel("entities", tt("Entities"));
    panel.classList.add("spans-panel");
    this.mirror = el("p", { className: "spans-mirror", "aria-label": tt("The transcript with its entity spans") });
    this.prompt = el("div", { className: "spans-prompt", role: "group", "aria-label": tt("Choose the kind") });
    this.prompt.hidden = true;
    this.suggestList = el("ol", { className: "spans-suggestions", "aria-label": tt("Suggested spans") });
    this.spanList = el("ol", { className: "spans-list", "aria-label": tt("Tagged spans") });
    this.statusLine = el("p", { className: "spans-status small", role: "status", "aria-live": "polite" });
    panel.append(
      this.mirror,
      this.prompt,
      this.linkBox.element,
      el("h3", { className: "spans-heading", text: tt("Suggested") }),
      this.suggestList,
      el("h3", { className: "spans-heading", text: tt("Tagged") }),
      this.spanList,
      this.statusLine,
      el(
        "p",
        { className: "small muted spans-keys" },
        ...SPAN_KEYS.flatMap(({ combo, label }) => [keyHint(combo), ` ${label.split(" (")[0].split("…")[0]} · `]),
      ),
    );
    this.panel = panel;
  }

  wire() {
    const { review, textarea } = this;
    textarea.addEventListener("input", () => {
      this.sync();
      this.suggestions.schedule(() => this.suggestionContext());
    });
    review.onClipChange((payload) => this.reset(payload));
    review.onBeforeSubmit((body) => {
      this.sync();
      if (!body.accidental) body.spans = this.payload();
    });
    // Undo of a submit brings the clip back with its spans (docs/review-plugins.md).
    review.keepForUndo({
      save: () => ({ spans: this.spans.map((span) => ({ ...span })), nextId: this.nextId }),
      restore: (saved) => {
        this.spans = saved.spans.map((span) => ({ ...span }));
        this.nextId = Math.max(this.nextId, saved.nextId);
        this.last = this.textarea.value;
        this.render();
      },
    });
    const handlers = {
      extendRight: () => this.extend(1),
      extendLeft: () => this.extend(-1),
      tag: () => this.startTag(),
      link: () => this.linkAtCaret(),
      accept: () => this.acceptNext(),
      reject: () => this.rejectNext(),
      remove: () => this.removeAtCaret(),
    };
    for (const { action, combo, label } of SPAN_KEYS) {
      review.keys.register({ combo, label, group: "Entities", run: (event) => handlers[action](event) });
    }
    // The kind prompt's digits (a mode of its own, ahead of the page's keys).
    window.addEventListener(
      "keydown",
      (event) => {
        if (event.isComposing || document.querySelector("dialog[open]")) return;
        if (this.mode && this.mode.type === "kind") this.kindKey(event);
      },
      true,
    );
  }

  // --- state -------------------------------------------------------------------------

  reset(payload) {
    this.spans = [];
    this.suggestions.reset();
    this.closeModes();
    this.last = this.textarea.value;
    this.render();
    this.say("");
    if (payload && this.last.trim()) this.suggestions.fetch(() => this.suggestionContext());
  }

  /** What the suggestions are fetched for and checked against when they arrive. */
  suggestionContext() {
    return { text: this.textarea.value, spans: this.spans };
  }

  /** Fold the textarea's current text in: move, re-check or drop spans and suggestions. */
  sync() {
    const text = this.textarea.value;
    if (text === this.last) return;
    const caret = this.textarea.selectionStart === this.textarea.selectionEnd ? this.textarea.selectionEnd : null;
    const change = diffRange(this.last, text, caret);
    this.last = text;
    const gone = [];
    const kept = [];
    for (const span of this.spans) {
      const moved = moveSpan(span, change, text);
      if (moved.status === "removed") {
        gone.push(span);
        continue;
      }
      const was = span.text;
      span.start = moved.start;
      span.end = moved.end;
      span.text = text.slice(span.start, span.end);
      if (moved.status === "recheck" && !span.needsRecheck) {
        span.needsRecheck = true;
        this.say(ttf("“%(was)s” changed: re-check it (Alt+L), or tag it again (Alt+N).", { was }), "info");
      }
      kept.push(span);
    }
    this.spans = kept;
    if (gone.length) {
      const names = gone.map((s) => `“${s.text}”`).join(", ");
      this.say(ttf("Removed the span %(names)s: its words were replaced. Tag again if needed (Alt+N).", { names }), "info");
    }
    this.suggestions.move(change, text);
    if (this.mode && this.mode.type === "kind") this.closeModes();
    this.render();
  }

  payload() {
    const text = this.textarea.value;
    return this.spans.map((s) => ({
      start: s.start,
      end: s.end,
      text: text.slice(s.start, s.end),
      kind: s.kind,
      entity_id: s.entity ? s.entity.id : null,
      not_in_catalog_name: s.entity ? "" : s.notInCatalogName,
      needs_recheck: this.recheck(s),
      source: s.source,
    }));
  }

  /** Re-check: its words changed, or letters now run on across its ends (and did not when it was tagged). */
  recheck(span) {
    return span.needsRecheck || (!span.gluedAtTag && edgesGlued(this.textarea.value, span));
  }

  /** The suggestions to show and accept. */
  visibleSuggestions() {
    return this.suggestions.visible(this.textarea.value);
  }

  kind(slug) {
    return this.kinds.find((k) => k.slug === slug) || { slug, name: slug, linkable: false };
  }

  addSpan({ start, end, kind, entity = null, source = "reviewer" }) {
    const span = {
      id: this.nextId++,
      start,
      end,
      text: this.textarea.value.slice(start, end),
      kind,
      entity,
      notInCatalogName: "",
      needsRecheck: false,
      source,
    };
    span.gluedAtTag = edgesGlued(this.textarea.value, span);
    const replaced = this.spans.filter((s) => overlaps(s, span));
    this.spans = this.spans.filter((s) => !overlaps(s, span)).concat(span).sort((a, b) => a.start - b.start);
    this.suggestions.dropOverlapping(span);
    if (replaced.length) this.say(ttf("Replaced %(spans)s.", { spans: replaced.map((s) => `“${s.text}”`).join(", ") }), "info");
    return span;
  }

  spanAtCaret() {
    const { selectionStart: start, selectionEnd: end } = this.textarea;
    return this.spans.find((s) => s.start <= start && end <= s.end) || null;
  }

  // --- actions --------------------------------------------------------------------

  extend(step) {
    this.sync();
    const t = this.textarea;
    const next = extendSelection(
      t.value,
      { start: t.selectionStart, end: t.selectionEnd, direction: t.selectionDirection },
      step,
    );
    t.focus();
    t.setSelectionRange(next.start, next.end, next.direction);
  }

  startTag() {
    this.sync();
    const t = this.textarea;
    let { selectionStart: start, selectionEnd: end } = t;
    if (start === end) {
      const word = wordAt(t.value, start);
      if (!word) return this.say(tt("Select words first: Alt+Shift+→ / ← or the mouse."), "error");
      ({ start, end } = word);
    }
    [start, end] = trimRange(t.value, start, end);
    if (start === end) return this.say(tt("Select words first: Alt+Shift+→ / ← or the mouse."), "error");
    if (!this.kinds.length) return this.say(tt("Entity kinds are still loading…"), "error");
    this.closeModes();
    this.mode = { type: "kind", start, end };
    t.focus();
    t.setSelectionRange(start, end);
    this.renderPrompt();
    this.say(ttf("Kind of “%(words)s”? Press its number; Esc cancels.", { words: t.value.slice(start, end) }), "info");
  }

  /** While the kind prompt is open: a digit picks the kind, Escape cancels, any other key cancels and acts. */
  kindKey(event) {
    if (["Shift", "Control", "Alt", "Meta"].includes(event.key)) return;
    const digit = digitOf(event);
    if (digit || event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
    }
    if (digit) {
      const kind = this.kinds[digit - 1];
      if (kind) this.chooseKind(kind);
      return;
    }
    this.closeModes();
    this.say(event.key === "Escape" ? tt("Not tagged.") : tt("Not tagged: after Alt+N, press the kind’s number."));
    if (event.key === "Escape") this.textarea.focus();
  }

  chooseKind(kind) {
    const { start, end } = this.mode;
    this.closeModes();
    const span = this.addSpan({ start, end, kind: kind.slug });
    this.render();
    if (kind.linkable) this.openLink(span);
    else {
      this.say(ttf("Tagged “%(words)s” as %(kind)s.", { words: span.text, kind: kind.name }), "ok");
      this.backToText(span.end);
    }
  }

  linkAtCaret() {
    this.sync();
    const span =
      this.spanAtCaret() ||
      this.spans.find((s) => this.recheck(s) || this.unlinked(s)) ||
      this.spans[this.spans.length - 1];
    if (!span) return this.say(tt("No span to link: tag one first (Alt+N)."), "error");
    if (!this.kind(span.kind).linkable) {
      span.needsRecheck = false;
      this.render();
      return this.say(ttf("“%(words)s” (%(kind)s) is not linked to the catalog; checked.", { words: span.text, kind: this.kind(span.kind).name }), "ok");
    }
    this.openLink(span);
  }

  acceptNext() {
    this.sync();
    const next = this.visibleSuggestions()[0];
    if (!next) return this.say(tt("No suggestion left."), "info");
    const span = this.addSpan({
      start: next.start,
      end: next.end,
      kind: next.kind,
      entity: { id: next.entity.id, name: next.entity.name, kind: next.entity.kind },
      source: "suggestion",
    });
    this.render();
    this.say(ttf("Tagged “%(words)s” as %(kind)s: %(name)s.", { words: span.text, kind: this.kind(span.kind).name, name: next.entity.name }), "ok");
  }

  rejectNext() {
    this.sync();
    const next = this.visibleSuggestions()[0];
    if (!next) return this.say(tt("No suggestion left."), "info");
    this.suggestions.reject(next);
    this.render();
    this.say(ttf("Rejected “%(words)s” → %(name)s.", { words: next.text, name: next.entity.name }), "info");
  }

  removeAtCaret() {
    this.sync();
    const span = this.spanAtCaret();
    if (!span) return this.say(tt("Put the caret in a span to remove it."), "error");
    this.removeSpan(span);
  }

  removeSpan(span) {
    this.spans = this.spans.filter((s) => s !== span);
    if (this.mode && this.mode.span === span) this.closeModes();
    this.render();
    this.say(ttf("Removed the span “%(words)s”.", { words: span.text }), "info");
  }

  backToText(caret) {
    const t = this.textarea;
    t.focus();
    if (caret !== undefined) t.setSelectionRange(caret, caret);
  }

  closeModes() {
    const wasLink = this.mode && this.mode.type === "link";
    this.mode = null;
    this.linkBox.close();
    this.prompt.hidden = true;
    if (wasLink) this.panel.classList.remove("linking");
  }

  // --- linking (the box is ./search.js) -----------------------------------------------

  openLink(span) {
    this.closeModes();
    this.mode = { type: "link", span };
    this.panel.classList.add("linking");
    this.linkBox.show(span, this.kind(span.kind).name);
    this.render();
    this.say(tt("Enter links the top entry (↑/↓ to choose) · Shift+Enter: not in catalog · Esc: later"), "info");
  }

  /** Escape in the link box: the span stays, not linked. */
  later(span) {
    this.closeModes();
    this.render();
    this.say(ttf("“%(words)s” is not linked yet: Alt+L links it.", { words: span.text }), "info");
    this.backToText(span.end);
  }

  link(span, entity) {
    span.entity = { id: entity.id, name: entity.name, kind: entity.kind };
    span.notInCatalogName = "";
    span.needsRecheck = false;
    this.closeModes();
    this.render();
    if (this.recheck(span)) {
      this.say(ttf("Linked, but letters run on across “%(words)s”: fix the text, or tag the whole word (Alt+N).", { words: span.text }), "error");
    } else {
      this.say(ttf("Linked “%(words)s” → %(name)s (%(kind)s).", { words: span.text, name: entity.name, kind: this.kind(span.kind).name }), "ok");
    }
    this.backToText(span.end);
  }

  notInCatalog(span, name) {
    span.entity = null;
    span.notInCatalogName = name;
    span.needsRecheck = false;
    this.closeModes();
    this.render();
    this.say(ttf("“%(words)s”: not in the catalog, kept as “%(name)s”.", { words: span.text, name }), "ok");
    this.backToText(span.end);
  }

  // --- rendering ------------------------------------------------------------------------------

  kindClass(slug) {
    const i = this.kinds.findIndex((k) => k.slug === slug);
    return `kind-${i >= 0 ? i + 1 : 0}`;
  }

  render() {
    this.renderMirror();
    this.renderSpans();
    this.renderSuggestions();
  }

  renderPrompt() {
    const box = this.prompt;
    box.replaceChildren(
      el("span", { className: "spans-prompt-title", text: tt("Kind:") }),
      ...this.kinds.map((kind) =>
        el(
          "button",
          {
            type: "button",
            className: `spans-kind ${this.kindClass(kind.slug)}`,
            onclick: () => this.mode && this.mode.type === "kind" && this.chooseKind(kind),
          },
          el("kbd", { text: String(kind.digit) }),
          ` ${kind.name}`,
        ),
      ),
    );
    box.hidden = !(this.mode && this.mode.type === "kind");
  }

  renderMirror() {
    const text = this.textarea.value;
    const marks = [
      ...this.spans.map((s) => ({ ...s, what: "span" })),
      ...this.visibleSuggestions().map((s, i) => ({ ...s, what: i === 0 ? "suggestion next" : "suggestion" })),
    ].sort((a, b) => a.start - b.start);
    const parts = [];
    let at = 0;
    for (const mark of marks) {
      if (mark.start < at) continue;
      parts.push(text.slice(at, mark.start));
      const classes = [mark.what, this.kindClass(mark.kind)];
      if (mark.what === "span" && this.recheck(mark)) classes.push("recheck");
      if (mark.what === "span" && this.unlinked(mark)) classes.push("unlinked");
      if (this.mode && this.mode.span && this.mode.span.id === mark.id) classes.push("current");
      parts.push(
        el(
          "mark",
          { className: classes.join(" "), "data-kind": this.kind(mark.kind).name },
          text.slice(mark.start, mark.end),
        ),
      );
      at = mark.end;
    }
    parts.push(text.slice(at));
    this.mirror.replaceChildren(...parts);
    this.mirror.classList.toggle("empty", !text.trim());
  }

  unlinked(span) {
    return this.kind(span.kind).linkable && !span.entity && !span.notInCatalogName;
  }

  describeLink(span) {
    if (span.entity) return `→ ${span.entity.name}`;
    if (span.notInCatalogName) return ttf("not in catalog: “%(name)s”", { name: span.notInCatalogName });
    return this.kind(span.kind).linkable ? tt("not linked yet (Alt+L)") : "";
  }

  renderSpans() {
    const items = this.spans.map((span) => {
      const kind = this.kind(span.kind);
      const li = el(
        "li",
        { className: `spans-item${this.recheck(span) ? " recheck" : ""}${this.unlinked(span) ? " unlinked" : ""}` },
        el("mark", { className: `span ${this.kindClass(span.kind)}`, text: span.text }),
        el("span", { className: "spans-kind-name", text: kind.name }),
        el("span", { className: "spans-linked", text: this.describeLink(span) }),
        this.recheck(span) ? el("span", { className: "spans-flag", text: tt("words changed: re-check") }) : null,
        el("span", { className: "spans-gap" }),
        kind.linkable
          ? el("button", { type: "button", className: "small", onclick: () => this.openLink(span) }, tt("Link"))
          : null,
        el("button", { type: "button", className: "small", onclick: () => this.removeSpan(span) }, tt("Remove")),
      );
      li.dataset.start = String(span.start);
      li.dataset.end = String(span.end);
      return li;
    });
    if (!items.length) items.push(el("li", { className: "muted small", text: tt("None yet: select words, then Alt+N.") }));
    this.spanList.replaceChildren(...items);
  }

  renderSuggestions() {
    this.suggestions.render(this.suggestList, this.textarea.value, {
      kind: (slug) => this.kind(slug),
      kindClass: (slug) => this.kindClass(slug),
      keyHint,
      onAccept: (s) => {
        this.suggestions.toFront(s);
        this.acceptNext();
      },
      onReject: (s) => {
        this.suggestions.toFront(s);
        this.rejectNext();
      },
    });
  }

  /** A message in the panel's live line; errors also go to the page's status line. */
  say(message, kind = "info") {
    this.statusLine.textContent = message;
    this.statusLine.dataset.kind = kind;
    if (message && kind === "error" && this.review.status) this.review.status(message, "error");
  }

  /** For tests and benches: what the tagger holds. */
  get state() {
    return {
      spans: this.payload(),
      suggestions: this.visibleSuggestions().map((s) => ({
        start: s.start,
        end: s.end,
        text: s.text,
        kind: s.kind,
        entity: s.entity.name,
      })),
      mode: this.mode ? this.mode.type : null,
      results: this.linkBox.results.map((r) => r.name),
    };
  }
}
