// The live word diff (static/review/diff.js): compared like the server counts word errors.
import assert from "node:assert/strict";
import { test } from "node:test";

import { diffWords, normalise, summarise, words } from "../../static/review/diff.js";

test("normalise lower-cases and drops punctuation but keeps apostrophes", () => {
  assert.equal(normalise("Play  Taylor Swift's, NEW song!"), "play taylor swift's new song");
  assert.deepEqual(
    words("Hi , there").map((w) => w.text),
    ["Hi", "there"],
  );
});

test("equal texts give one equal hunk and no errors", () => {
  const hunks = diffWords(words("play some jazz"), words("Play some jazz."));
  assert.deepEqual(
    hunks.map((h) => h.op),
    ["equal"],
  );
  assert.equal(summarise(hunks).wer, 0);
});

test("a substitution, an insertion and a deletion are counted against the reviewer's text", () => {
  const hunks = diffWords(words("play sum jazz now"), words("play some jazz music now"));
  const summary = summarise(hunks);
  assert.equal(summary.substitutions, 1);
  assert.equal(summary.deletions, 1);
  assert.equal(summary.insertions, 0);
  assert.equal(summary.words, 5);
  assert.equal(summary.wer, 2 / 5);
});

test("an empty reviewer text has no word error rate", () => {
  assert.equal(summarise(diffWords(words("hello"), words(""))).wer, null);
});
