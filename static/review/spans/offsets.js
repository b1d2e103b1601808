// Entity spans, the pure part: character offsets into the corrected transcript,
// words, selections, and where a span goes when the text is edited. No DOM:
// unit-tested with Node (tests/js/spans-offsets.test.mjs). The rules are
// documented in docs/entities.md.

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

/** For comparing names: no accents, lower case, single spaces. */
export function fold(text) {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase().replace(/\s+/g, " ").trim();
}

/** Do two [start, end) ranges share a character? */
export function overlaps(a, b) {
  return a.start < b.end && b.start < a.end;
}
