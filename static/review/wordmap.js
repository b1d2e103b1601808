// Whisper's word timings mapped onto the reviewer's text, so the word keys can move
// the caret and the playhead together. Pure: no DOM, unit-tested with Node
// (tests/js/wordmap.test.mjs). The rule (docs/keys.md, "Words: caret and playhead"):
//
//   1. Both texts are split into words and compared the way the diff compares them
//      (lower case, punctuation ignored: diff.js), aligned by longest common subsequence.
//   2. A word the reviewer kept takes its Whisper word's start and end.
//   3. Words the reviewer typed in place of Whisper's (a replacement of n words by m)
//      share the time of the words they replace, in equal parts.
//   4. Words the reviewer added where Whisper heard nothing share the gap between the
//      timed words around them (from 0 at the start, to the clip's end at the end).
//   5. Whisper's words the reviewer deleted have no place in the text: the keys skip them.

import { diffWords, normalise } from "./diff.js";

/** The words of the reviewer's text with their character offsets: [{text, key, start, end}]. */
export function textWords(text) {
  const out = [];
  for (const match of String(text).matchAll(/\S+/g)) {
    const key = normalise(match[0]);
    if (key) out.push({ text: match[0], key, start: match.index, end: match.index + match[0].length });
  }
  return out;
}

/** Whisper's timed words, cleaned: [{text, key, start, end}] in time order. */
export function machineWords(words) {
  return (words || [])
    .map((w) => ({ text: String(w.word ?? "").trim(), start: Number(w.start), end: Number(w.end) }))
    .filter((w) => w.text && Number.isFinite(w.start))
    .map((w) => ({ ...w, end: Number.isFinite(w.end) && w.end >= w.start ? w.end : w.start, key: normalise(w.text) }))
    .filter((w) => w.key);
}

/**
 * Each word of the reviewer's text with a time: [{start, end, from, to}] where from/to are
 * character offsets into `text` and start/end seconds into the clip (rules above).
 */
export function timeWords(text, whisperWords, duration = null) {
  const typed = textWords(text);
  const machine = machineWords(whisperWords);
  const hunks = diffWords(machine, typed);
  const timed = []; // parallel to `typed`: {start, end} or null (rule 4, filled below)
  for (const { op, before, after } of hunks) {
    if (op === "equal") {
      before.forEach((m) => timed.push({ start: m.start, end: m.end }));
    } else if (op === "replace") {
      const from = before[0].start;
      const to = Math.max(from, before[before.length - 1].end);
      const step = (to - from) / after.length;
      after.forEach((_, i) => timed.push({ start: from + i * step, end: from + (i + 1) * step }));
    } else if (op === "insert") {
      after.forEach(() => timed.push(null));
    }
  }
  const end = Number.isFinite(duration) && duration > 0 ? duration : machine.length ? machine[machine.length - 1].end : 0;
  for (let i = 0; i < timed.length; ) {
    if (timed[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < timed.length && !timed[j]) j++;
    const from = i > 0 ? timed[i - 1].end : 0;
    const to = Math.max(from, j < timed.length ? timed[j].start : end);
    const step = (to - from) / (j - i);
    for (let k = i; k < j; k++) timed[k] = { start: from + (k - i) * step, end: from + (k - i + 1) * step };
    i = j;
  }
  return typed.map((w, i) => ({ from: w.start, to: w.end, start: timed[i].start, end: timed[i].end }));
}

const EPSILON = 0.05;

/** The word being spoken at `time` (or the last one started before it), or -1 before the first. */
export function wordAtTime(timed, time) {
  let found = -1;
  for (let i = 0; i < timed.length; i++) {
    if (timed[i].start <= time + 1e-6) found = i;
    else break;
  }
  return found;
}

/**
 * The word the key goes to: the next one (direction 1) or the previous one (-1).
 * `from` is the word the keys last went to, when the playhead and caret are still
 * there (then the keys step word by word, also through words sharing one time);
 * otherwise the playhead decides: the next word starting after it, or the word before
 * the one being spoken. Returns an index into `timed`, or -1.
 */
export function stepWord(timed, { time, direction, from = null }) {
  if (!timed.length) return -1;
  if (from !== null && from >= 0 && from < timed.length) {
    return Math.max(0, Math.min(timed.length - 1, from + direction));
  }
  if (direction > 0) {
    const next = timed.findIndex((w) => w.start > time + EPSILON);
    return next;
  }
  const spoken = wordAtTime(timed, time);
  const inside = spoken >= 0 && time < Math.max(timed[spoken].end, timed[spoken].start + EPSILON) && time - timed[spoken].start > EPSILON;
  if (spoken < 0) return 0;
  // Just at a word's start (the keys put the playhead there): the one before it.
  if (!inside && time - timed[spoken].start <= EPSILON) return Math.max(0, spoken - 1);
  return inside ? Math.max(0, spoken - 1) : spoken;
}
