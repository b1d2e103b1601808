// Entity spans on the corrected transcript: select words, give them a kind,
// link them to the catalog (or mark them "not in catalog"), accept or reject
// suggested spans — all from the keyboard. A review-page plugin
// (docs/review-plugins.md): review.js calls install(review) once. The key map
// and the rules are documented in docs/entities.md.
//
// Spans are character offsets into the textarea's text. They are kept right
// while the reviewer edits: every input event is diffed against the previous
// text, spans after the change move with their words, and a span whose own
// words changed is marked "re-check" (or dropped, with a message, when its
// words are gone). Never silently wrong.

const SEARCH_DEBOUNCE_MS = 120;
const SUGGEST_DEBOUNCE_MS = 600;
const RESULTS = 6;

/** The plugin's keys: registered with review.keys (help overlay), or handled here if there is none. */
export const SPAN_KEYS = [
  { action: "extendRight", combo: "Alt+Shift+ArrowRight", label: "Select the next word too (from the caret)" },
  { action: "extendLeft", combo: "Alt+Shift+ArrowLeft", label: "Select the previous word too" },
  { action: "tag", combo: "Alt+N", label: "Tag the selected words as an entity… (then the kind's number)" },
  { action: "link", combo: "Alt+L", label: "Link the span at the caret to the catalog (or re-check it)" },
  { action: "accept", combo: "Alt+Y", label: "Accept the next suggested span" },
  { action: "reject", combo: "Alt+Z", label: "Reject the next suggested span" },
  { action: "remove", combo: "Alt+Delete", label: "Remove the span at the caret" },
];
export const SEARCH_KEYS = [
  { combo: "Enter", label: "Link the highlighted entry (the top one unless you moved)" },
  { combo: "↑ / ↓", label: "Move through the entries" },
  { combo: "Shift+Enter", label: "Not in catalog: keep the name as typed" },
  { combo: "Escape", label: "Link later (the span stays, marked not linked)" },
];

// --- pure helpers (exported for tests) -----------------------------------------------

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;
const WORD_CHAR = /[\p{L}\p{N}]/u;

/** The words of a text as [{start, end}]. */
export function wordRanges(text) {
  return [...text.matchAll(WORD)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
}

/** The word around a caret (touching it counts), or null. */
export function wordAt(text, caret) {
  return wordRanges(text).find((w) => w.start <= caret && caret <= w.end) || null;
}

/** [start, end) with white space trimmed off both ends. */
export function trimRange(text, start, end) {
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  return [start, end];
}

/**
 * Grow (or shrink) a selection by one word: step 1 moves its moving end to the
 * end of the next word, -1 to the start of the previous one. From a caret, the
 * first step selects the word at or after (before) it.
 */
export function extendSelection(text, { start, end, direction }, step) {
  const words = wordRanges(text);
  if (start === end) {
    const inside = words.find((w) => w.start < start && start < w.end);
    const word = inside || (step > 0 ? words.find((w) => w.start >= start) : words.findLast((w) => w.end <= start));
    if (!word) return { start, end, direction };
    return { start: word.start, end: word.end, direction: step > 0 ? "forward" : "backward" };
  }
  const anchor = direction === "backward" ? end : start;
  let focus = direction === "backward" ? start : end;
  const word = step > 0 ? words.find((w) => w.end > focus) : words.findLast((w) => w.start < focus);
  if (!word) return { start, end, direction };
  focus = step > 0 ? word.end : word.start;
  return focus < anchor
    ? { start: focus, end: anchor, direction: "backward" }
    : { start: anchor, end: focus, direction: "forward" };
}

/**
 * What one edit changed: old [start, oldEnd) became new [start, newEnd).
 * A pure insertion or deletion inside a run of equal characters is ambiguous;
 * the caret (where the browser left it) settles it.
 */
export function diffRange(before, after, caret = null) {
  const max = Math.min(before.length, after.length);
  let start = 0;
  while (start < max && before[start] === after[start]) start++;
  let tail = 0;
  while (tail < max - start && before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail++;
  const change = { start, oldEnd: before.length - tail, newEnd: after.length - tail };
  const delta = after.length - before.length;
  if (caret !== null && delta > 0 && change.oldEnd === change.start) {
    const at = caret - delta;
    if (at >= 0 && at !== change.start && after.slice(0, at) + after.slice(caret) === before) {
      return { start: at, oldEnd: at, newEnd: caret };
    }
  } else if (caret !== null && delta < 0 && change.newEnd === change.start) {
    if (caret !== change.start && before.slice(0, caret) + before.slice(caret - delta) === after) {
      return { start: caret, oldEnd: caret - delta, newEnd: caret };
    }
  }
  return change;
}

function glued(text, at) {
  // a word character on both sides of `at`: an edit joined a word onto the span
  return at > 0 && at < text.length && WORD_CHAR.test(text[at - 1]) && WORD_CHAR.test(text[at]);
}

/** Letters or digits now run on across one of the span's ends ("Swift" → "Swifty"). */
export function edgesGlued(text, span) {
  return glued(text, span.start) || glued(text, span.end);
}

/**
 * Where a span is after an edit (`change` from diffRange, `text` the new text):
 * {status: "same" | "moved" | "recheck" | "removed", start, end}.
 * Edits before it move it; edits after it leave it; an edit of its own words
 * asks for a re-check; an edit that replaces all of its words removes it.
 * (Letters typed right against it are caught by edgesGlued for as long as they are.)
 */
export function moveSpan(span, change, text) {
  const { start: p, oldEnd: oe, newEnd: ne } = change;
  const delta = ne - oe;
  if (p === oe && p === ne) return { status: "same", start: span.start, end: span.end };
  if (p >= span.end) return { status: "same", start: span.start, end: span.end };
  if (oe <= span.start) {
    return { status: delta ? "moved" : "same", start: span.start + delta, end: span.end + delta };
  }
  if (p <= span.start && oe >= span.end) return { status: "removed", start: p, end: ne };
  const [start, end] = trimRange(text, span.start < p ? span.start : p, span.end > oe ? span.end + delta : ne);
  if (end <= start) return { status: "removed", start, end };
  return { status: "recheck", start, end };
}

export function fold(text) {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase().replace(/\s+/g, " ").trim();
}

function overlaps(a, b) {
  return a.start < b.end && b.start < a.end;
}

// --- keys ---------------------------------------------------------------------------------

function parseCombo(combo) {
  const parts = combo.split("+");
  const key = parts.pop();
  const mods = new Set(parts);
  return { ctrl: mods.has("Ctrl"), alt: mods.has("Alt"), shift: mods.has("Shift"), meta: mods.has("Meta"), key };
}

export function comboMatches(event, combo) {
  const want = parseCombo(combo);
  if (event.ctrlKey !== want.ctrl || event.altKey !== want.alt || event.shiftKey !== want.shift) return false;
  if (event.metaKey !== want.meta) return false;
  if (/^[A-Z]$/.test(want.key)) {
    const typed = event.key.length === 1 ? event.key.toLowerCase() : "";
    return /^[a-z]$/.test(typed) ? typed === want.key.toLowerCase() : event.code === `Key${want.key}`;
  }
  return event.key === want.key;
}

function digitOf(event) {
  if (event.ctrlKey || event.altKey || event.metaKey) return 0;
  const match = /^(?:Digit|Numpad)([1-9])$/.exec(event.code || "") || /^([1-9])$/.exec(event.key);
  return match ? Number(match[1]) : 0;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function kbd(combo) {
  return el("kbd", { text: combo.replace("Arrow", "").replace("Right", "→").replace("Left", "←") });
}

// --- the tagger ------------------------------------------------------------------------------

class SpanTagger {
  constructor(review) {
    this.review = review;
    this.textarea = review.textarea;
    this.urls = review.config("spans").urls; // annotate/catalog/templatetags/catalog_review.py
    this.kinds = [];
    this.spans = [];
    this.suggestions = [];
    this.rejected = new Set();
    this.mode = null; // {type: "kind", start, end} | {type: "link", span}
    this.last = this.textarea.value;
    this.clip = 0;
    this.nextId = 1;
    this.results = [];
    this.highlight = 0;
    this.searching = null;
    this.searchTimer = 0;
    this.suggestTimer = 0;
    this.ready = this.loadKinds();
    this.build();
    this.wire();
  }

  // --- set-up --------------------------------------------------------------------

  async loadKinds() {
    try {
      const response = await fetch(this.urls.kinds, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      this.kinds = (await response.json()).kinds;
    } catch (error) {
      this.say(`Entity kinds did not load (${error.message}): reload the page to tag entities.`, "error");
    }
    this.renderPrompt();
  }

  build() {
    if (!document.querySelector("link[data-spans-css]")) {
      const css = el("link", { rel: "stylesheet", href: new URL("./spans.css", import.meta.url).href });
      css.dataset.spansCss = "";
      document.head.append(css);
    }
    const panel = this.review.panel("entities", "Entities");
    panel.classList.add("spans-panel");
    this.mirror = el("p", { className: "spans-mirror", "aria-label": "The transcript with its entity spans" });
    this.prompt = el("div", { className: "spans-prompt", role: "group", "aria-label": "Choose the kind" });
    this.prompt.hidden = true;
    this.search = el("input", {
      type: "search",
      className: "spans-search",
      autocomplete: "off",
      spellcheck: "false",
      enterkeyhint: "done",
      "aria-label": "Search the catalog",
      "aria-controls": "spans-results",
      "aria-autocomplete": "list",
    });
    this.resultList = el("ol", { className: "spans-results", id: "spans-results", role: "listbox" });
    this.linkBox = el(
      "div",
      { className: "spans-link", hidden: true },
      el("p", { className: "spans-link-title" }),
      this.search,
      this.resultList,
      el(
        "p",
        { className: "small muted spans-keys" },
        ...SEARCH_KEYS.flatMap(({ combo, label }) => [kbd(combo), ` ${label.split(" (")[0]} · `]),
      ),
    );
    this.suggestList = el("ol", { className: "spans-suggestions", "aria-label": "Suggested spans" });
    this.spanList = el("ol", { className: "spans-list", "aria-label": "Tagged spans" });
    this.statusLine = el("p", { className: "spans-status small", role: "status", "aria-live": "polite" });
    panel.append(
      this.mirror,
      this.prompt,
      this.linkBox,
      el("h3", { className: "spans-heading", text: "Suggested" }),
      this.suggestList,
      el("h3", { className: "spans-heading", text: "Tagged" }),
      this.spanList,
      this.statusLine,
      el(
        "p",
        { className: "small muted spans-keys" },
        ...SPAN_KEYS.flatMap(({ combo, label }) => [kbd(combo), ` ${label.split(" (")[0].split("…")[0]} · `]),
      ),
    );
    this.panel = panel;
  }

  wire() {
    const { review, textarea } = this;
    textarea.addEventListener("input", () => {
      this.sync();
      this.scheduleSuggest();
    });
    review.onClipChange((payload) => this.reset(payload));
    review.onBeforeSubmit((body) => {
      this.sync();
      if (!body.accidental) body.spans = this.payload();
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
    const register = review.keys && review.keys.register;
    if (register) {
      for (const { action, combo, label } of SPAN_KEYS) {
        review.keys.register({ combo, label, group: "Entities", run: (event) => handlers[action](event) });
      }
    }
    // The kind prompt's digits, and our own keys when the page has no key map to register with.
    window.addEventListener(
      "keydown",
      (event) => {
        if (event.isComposing || document.querySelector("dialog[open]")) return;
        if (this.mode && this.mode.type === "kind") {
          this.kindKey(event);
          return;
        }
        if (register) return;
        const binding = SPAN_KEYS.find((b) => comboMatches(event, b.combo));
        if (!binding) return;
        event.preventDefault();
        event.stopPropagation();
        handlers[binding.action](event);
      },
      true,
    );
    this.search.addEventListener("input", () => this.scheduleSearch());
    this.search.addEventListener("keydown", (event) => this.searchKey(event));
  }

  // --- state -------------------------------------------------------------------------

  reset(payload) {
    this.clip += 1;
    this.spans = [];
    this.suggestions = [];
    this.rejected = new Set();
    this.closeModes();
    this.last = this.textarea.value;
    this.render();
    this.say("");
    if (payload && this.last.trim()) this.fetchSuggestions();
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
        this.say(`“${was}” changed: re-check it (Alt+L), or tag it again (Alt+N).`, "info");
      }
      kept.push(span);
    }
    this.spans = kept;
    if (gone.length) {
      const names = gone.map((s) => `“${s.text}”`).join(", ");
      this.say(`Removed the span ${names}: its words were replaced. Tag again if needed (Alt+N).`, "info");
    }
    this.suggestions = this.suggestions.flatMap((s) => {
      const moved = moveSpan(s, change, text);
      if (moved.status === "removed" || moved.status === "recheck") return [];
      return [{ ...s, start: moved.start, end: moved.end }];
    });
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

  /** The suggestions to show and accept: none whose words run on into the next ones while typing. */
  visibleSuggestions() {
    const text = this.textarea.value;
    return this.suggestions.filter((s) => !edgesGlued(text, s));
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
    this.suggestions = this.suggestions.filter((s) => !overlaps(s, span));
    if (replaced.length) this.say(`Replaced ${replaced.map((s) => `“${s.text}”`).join(", ")}.`, "info");
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
      if (!word) return this.say("Select words first: Alt+Shift+→ / ← or the mouse.", "error");
      ({ start, end } = word);
    }
    [start, end] = trimRange(t.value, start, end);
    if (start === end) return this.say("Select words first: Alt+Shift+→ / ← or the mouse.", "error");
    if (!this.kinds.length) return this.say("Entity kinds are still loading…", "error");
    this.closeModes();
    this.mode = { type: "kind", start, end };
    t.focus();
    t.setSelectionRange(start, end);
    this.renderPrompt();
    this.say(`Kind of “${t.value.slice(start, end)}”? Press its number; Esc cancels.`, "info");
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
    this.say(event.key === "Escape" ? "Not tagged." : "Not tagged: after Alt+N, press the kind's number.");
    if (event.key === "Escape") this.textarea.focus();
  }

  chooseKind(kind) {
    const { start, end } = this.mode;
    this.closeModes();
    const span = this.addSpan({ start, end, kind: kind.slug });
    this.render();
    if (kind.linkable) this.openLink(span);
    else {
      this.say(`Tagged “${span.text}” as ${kind.name}.`, "ok");
      this.backToText(span.end);
    }
  }

  linkAtCaret() {
    this.sync();
    const span =
      this.spanAtCaret() ||
      this.spans.find((s) => this.recheck(s) || this.unlinked(s)) ||
      this.spans[this.spans.length - 1];
    if (!span) return this.say("No span to link: tag one first (Alt+N).", "error");
    if (!this.kind(span.kind).linkable) {
      span.needsRecheck = false;
      this.render();
      return this.say(`“${span.text}” (${this.kind(span.kind).name}) is not linked to the catalog; checked.`, "ok");
    }
    this.openLink(span);
  }

  acceptNext() {
    this.sync();
    const next = this.visibleSuggestions()[0];
    if (!next) return this.say("No suggestion left.", "info");
    const span = this.addSpan({
      start: next.start,
      end: next.end,
      kind: next.kind,
      entity: { id: next.entity.id, name: next.entity.name, kind: next.entity.kind },
      source: "suggestion",
    });
    this.render();
    this.say(`Tagged “${span.text}” as ${this.kind(span.kind).name}: ${next.entity.name}.`, "ok");
  }

  rejectNext() {
    this.sync();
    const next = this.visibleSuggestions()[0];
    if (!next) return this.say("No suggestion left.", "info");
    this.suggestions = this.suggestions.filter((s) => s !== next);
    this.rejected.add(this.suggestionKey(next));
    this.render();
    this.say(`Rejected “${next.text}” → ${next.entity.name}.`, "info");
  }

  removeAtCaret() {
    this.sync();
    const span = this.spanAtCaret();
    if (!span) return this.say("Put the caret in a span to remove it.", "error");
    this.removeSpan(span);
  }

  removeSpan(span) {
    this.spans = this.spans.filter((s) => s !== span);
    if (this.mode && this.mode.span === span) this.closeModes();
    this.render();
    this.say(`Removed the span “${span.text}”.`, "info");
  }

  backToText(caret) {
    const t = this.textarea;
    t.focus();
    if (caret !== undefined) t.setSelectionRange(caret, caret);
  }

  closeModes() {
    const wasLink = this.mode && this.mode.type === "link";
    this.mode = null;
    this.linkBox.hidden = true;
    this.prompt.hidden = true;
    clearTimeout(this.searchTimer);
    if (wasLink) this.panel.classList.remove("linking");
  }

  // --- linking -------------------------------------------------------------------------

  openLink(span) {
    this.closeModes();
    this.mode = { type: "link", span };
    const kind = this.kind(span.kind);
    this.linkBox.querySelector(".spans-link-title").textContent = `Link “${span.text}” (${kind.name}) to the catalog`;
    this.linkBox.hidden = false;
    this.panel.classList.add("linking");
    this.search.value = span.entity && !span.needsRecheck ? span.entity.name : span.notInCatalogName || span.text;
    this.results = [];
    this.highlight = 0;
    this.renderResults();
    this.search.focus();
    this.search.select();
    this.runSearch();
    this.render();
    this.say("Enter links the top entry (↑/↓ to choose) · Shift+Enter: not in catalog · Esc: later", "info");
  }

  scheduleSearch() {
    clearTimeout(this.searchTimer);
    this.searching = new Promise((resolve) => {
      this.searchTimer = setTimeout(() => this.runSearch().then(resolve), SEARCH_DEBOUNCE_MS);
    });
  }

  runSearch() {
    const mode = this.mode;
    if (!mode || mode.type !== "link") return Promise.resolve();
    const query = this.search.value.trim();
    if (this.abort) this.abort.abort();
    this.abort = new AbortController();
    const url = `${this.urls.search}?${new URLSearchParams({ q: query, kind: mode.span.kind, limit: String(RESULTS) })}`;
    this.searching = fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: this.abort.signal,
    })
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`answer ${response.status}`))))
      .then((data) => {
        if (this.mode !== mode || this.search.value.trim() !== query) return;
        this.results = data.results || [];
        this.highlight = 0;
        this.renderResults();
      })
      .catch((error) => {
        if (error.name !== "AbortError") this.say(`Catalog search failed (${error.message}).`, "error");
      });
    return this.searching;
  }

  async searchKey(event) {
    if (!this.mode || this.mode.type !== "link") return;
    const mode = this.mode;
    if (event.key === "Enter") {
      event.preventDefault(); // never the form's implicit submit
      event.stopPropagation();
      if (event.ctrlKey || event.altKey || event.metaKey) return;
      if (event.shiftKey) return this.notInCatalog(mode.span);
      await this.searching; // Enter right after typing: wait for the answer to what was typed
      if (this.mode !== mode) return;
      const choice = this.results[this.highlight];
      if (!choice) return this.say("Nothing found: Shift+Enter marks it not in catalog.", "error");
      this.link(mode.span, choice);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!this.results.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.highlight = (this.highlight + step + this.results.length) % this.results.length;
      this.renderResults();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      const span = mode.span;
      this.closeModes();
      this.render();
      this.say(`“${span.text}” is not linked yet: Alt+L links it.`, "info");
      this.backToText(span.end);
    }
  }

  link(span, entity) {
    span.entity = { id: entity.id, name: entity.name, kind: entity.kind };
    span.notInCatalogName = "";
    span.needsRecheck = false;
    this.closeModes();
    this.render();
    if (this.recheck(span)) {
      this.say(`Linked, but letters run on across “${span.text}”: fix the text, or tag the whole word (Alt+N).`, "error");
    } else {
      this.say(`Linked “${span.text}” → ${entity.name} (${this.kind(span.kind).name}).`, "ok");
    }
    this.backToText(span.end);
  }

  notInCatalog(span) {
    const name = this.search.value.trim() || span.text;
    span.entity = null;
    span.notInCatalogName = name;
    span.needsRecheck = false;
    this.closeModes();
    this.render();
    this.say(`“${span.text}”: not in the catalog, kept as “${name}”.`, "ok");
    this.backToText(span.end);
  }

  // --- suggestions -------------------------------------------------------------------------

  suggestionKey(s) {
    return `${s.kind}|${s.entity.id}|${fold(s.text)}`;
  }

  scheduleSuggest() {
    clearTimeout(this.suggestTimer);
    this.suggestTimer = setTimeout(() => this.fetchSuggestions(), SUGGEST_DEBOUNCE_MS);
  }

  async fetchSuggestions() {
    const clip = this.clip;
    const text = this.textarea.value;
    if (!text.trim()) {
      this.suggestions = [];
      this.render();
      return;
    }
    const { status, data } = await this.review.api.post(this.urls.suggest, { text });
    if (clip !== this.clip || this.textarea.value !== text || status !== 200) return;
    this.suggestions = (data.suggestions || []).filter(
      (s) => !this.rejected.has(this.suggestionKey(s)) && !this.spans.some((span) => overlaps(span, s)),
    );
    this.render();
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
      el("span", { className: "spans-prompt-title", text: "Kind:" }),
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
    if (span.notInCatalogName) return `not in catalog: “${span.notInCatalogName}”`;
    return this.kind(span.kind).linkable ? "not linked yet (Alt+L)" : "";
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
        this.recheck(span) ? el("span", { className: "spans-flag", text: "words changed: re-check" }) : null,
        el("span", { className: "spans-gap" }),
        kind.linkable
          ? el("button", { type: "button", className: "small", onclick: () => this.openLink(span) }, "Link")
          : null,
        el("button", { type: "button", className: "small", onclick: () => this.removeSpan(span) }, "Remove"),
      );
      li.dataset.start = String(span.start);
      li.dataset.end = String(span.end);
      return li;
    });
    if (!items.length) items.push(el("li", { className: "muted small", text: "None yet: select words, then Alt+N." }));
    this.spanList.replaceChildren(...items);
  }

  renderSuggestions() {
    const items = this.visibleSuggestions().map((s, i) =>
      el(
        "li",
        { className: `spans-item${i === 0 ? " next" : ""}` },
        el("mark", { className: `suggestion ${this.kindClass(s.kind)}`, text: s.text }),
        el("span", { className: "spans-kind-name", text: this.kind(s.kind).name }),
        el("span", { className: "spans-linked", text: `→ ${s.entity.name}` }),
        el("span", { className: "spans-gap" }),
        el(
          "button",
          {
            type: "button",
            className: "small",
            onclick: () => {
              this.suggestions = [s, ...this.suggestions.filter((o) => o !== s)];
              this.acceptNext();
            },
          },
          "Accept",
          i === 0 ? kbd("Alt+Y") : null,
        ),
        el(
          "button",
          {
            type: "button",
            className: "small",
            onclick: () => {
              this.suggestions = [s, ...this.suggestions.filter((o) => o !== s)];
              this.rejectNext();
            },
          },
          "Reject",
          i === 0 ? kbd("Alt+Z") : null,
        ),
      ),
    );
    if (!items.length) items.push(el("li", { className: "muted small", text: "No suggestions." }));
    this.suggestList.replaceChildren(...items);
  }

  renderResults() {
    const items = this.results.map((r, i) =>
      el(
        "li",
        {
          role: "option",
          id: `spans-result-${i}`,
          className: "spans-result",
          "aria-selected": String(i === this.highlight),
          onmousedown: (event) => {
            event.preventDefault();
            if (this.mode && this.mode.type === "link") this.link(this.mode.span, r);
          },
        },
        el("span", { className: "spans-result-name", text: r.name }),
        r.matched && fold(r.matched) !== fold(r.name)
          ? el("span", { className: "muted small", text: ` (${r.matched})` })
          : null,
        el("span", { className: "muted small spans-result-meta", text: ` ${r.kind_name} · ${r.popularity}` }),
        i === 0 ? el("kbd", { className: "spans-enter", text: "Enter" }) : null,
      ),
    );
    if (!items.length) {
      items.push(el("li", { className: "muted small", text: "Type a name; Shift+Enter: not in catalog." }));
    }
    this.resultList.replaceChildren(...items);
    if (this.results.length) this.search.setAttribute("aria-activedescendant", `spans-result-${this.highlight}`);
    else this.search.removeAttribute("aria-activedescendant");
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
      results: this.results.map((r) => r.name),
    };
  }
}

/** The plugin entry point (docs/review-plugins.md). */
export function install(review) {
  const tagger = new SpanTagger(review);
  window.__spans = tagger;
  return tagger;
}
