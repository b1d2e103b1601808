// Entity spans, the offset maths (static/review/spans/offsets.js): spans follow their words through edits.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  diffRange,
  edgesGlued,
  extendSelection,
  fold,
  moveSpan,
  overlaps,
  trimRange,
  wordAt,
  wordRanges,
} from "../../static/review/spans/offsets.js";

const text = "play Taylor Swift now";
const span = { start: 5, end: 17 }; // "Taylor Swift"

/** Edit `before` into `after` and say what became of the span, and its words. */
function edit(before, after, range = span, caret = null) {
  const moved = moveSpan(range, diffRange(before, after, caret), after);
  return [moved.status, after.slice(moved.start, moved.end)];
}

test("words, the word at a caret, and trimmed ranges", () => {
  assert.deepEqual(
    wordRanges("don't stop-me").map((w) => [w.start, w.end]),
    [
      [0, 5],
      [6, 10],
      [11, 13],
    ],
  );
  assert.deepEqual(wordAt(text, 11), { start: 5, end: 11 });
  assert.equal(wordAt("a  b", 2), null);
  assert.deepEqual(trimRange("  ab  ", 0, 6), [2, 4]);
});

test("an edit before a span moves it; after it, leaves it", () => {
  assert.deepEqual(edit(text, "please play Taylor Swift now"), ["moved", "Taylor Swift"]);
  assert.deepEqual(edit(text, "play Taylor Swift right now"), ["same", "Taylor Swift"]);
});

test("an edit inside a span asks for a re-check; replacing all its words removes it", () => {
  assert.deepEqual(edit(text, "play Tay Swift now"), ["recheck", "Tay Swift"]);
  assert.equal(edit(text, "play Adele now")[0], "removed");
});

test("letters glued onto a span leave it in place and are caught by edgesGlued", () => {
  assert.deepEqual(edit(text, "play Taylor Swifty now"), ["same", "Taylor Swift"]);
  assert.equal(edgesGlued("play Taylor Swifty now", span), true);
  assert.equal(edgesGlued("play Taylor Swift, now", span), false);
});

test("the caret settles an insertion inside a run of equal characters", () => {
  assert.deepEqual(diffRange("aa Taylor", "aaa Taylor"), { start: 2, oldEnd: 2, newEnd: 3 });
  assert.deepEqual(edit("aa Taylor", "aaa Taylor", { start: 3, end: 9 }, 3), ["moved", "Taylor"]);
  assert.deepEqual(diffRange("aaa b", "aa b", 1), { start: 1, oldEnd: 2, newEnd: 1 });
});

test("a selection grows word by word in either direction", () => {
  assert.deepEqual(extendSelection(text, { start: 21, end: 21, direction: "none" }, -1), {
    start: 18,
    end: 21,
    direction: "backward",
  });
  assert.deepEqual(extendSelection(text, { start: 18, end: 21, direction: "backward" }, -1), {
    start: 12,
    end: 21,
    direction: "backward",
  });
  assert.deepEqual(extendSelection(text, { start: 0, end: 0, direction: "none" }, 1), {
    start: 0,
    end: 4,
    direction: "forward",
  });
  assert.deepEqual(extendSelection(text, { start: 5, end: 11, direction: "forward" }, -1), {
    start: 5,
    end: 5,
    direction: "forward",
  });
});

test("fold and overlaps", () => {
  assert.equal(fold("  Beyoncé   Knowles "), "beyonce knowles");
  assert.ok(overlaps({ start: 0, end: 5 }, { start: 4, end: 6 }));
  assert.ok(!overlaps({ start: 0, end: 5 }, { start: 5, end: 6 }));
});
