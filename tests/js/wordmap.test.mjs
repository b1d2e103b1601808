// Whisper's timings on the reviewer's text (static/review/wordmap.js), the rule in docs/keys.md.
import assert from "node:assert/strict";
import { test } from "node:test";

import { stepWord, timeWords, wordAtTime } from "../../static/review/wordmap.js";

const WHISPER = [
  { word: " play", start: 0.2, end: 0.5 },
  { word: " shake", start: 0.6, end: 0.9 },
  { word: " it", start: 0.9, end: 1.0 },
  { word: " off", start: 1.0, end: 1.3 },
  { word: " by", start: 1.4, end: 1.5 },
  { word: " tailor's", start: 1.5, end: 2.0 },
];

const slice = (text, words) => words.map((w) => text.slice(w.from, w.to));

test("kept words keep Whisper's times, with their character offsets in the reviewer's text", () => {
  const text = "play shake it off by tailor's";
  const timed = timeWords(text, WHISPER, 3);
  assert.deepEqual(slice(text, timed), ["play", "shake", "it", "off", "by", "tailor's"]);
  assert.deepEqual(timed.map((w) => w.start), [0.2, 0.6, 0.9, 1.0, 1.4, 1.5]);
});

test("replacing words shares their time; punctuation and case do not matter", () => {
  const text = "Play Shake It Off, by Taylor Swift.";
  const timed = timeWords(text, WHISPER, 3);
  assert.deepEqual(slice(text, timed), ["Play", "Shake", "It", "Off,", "by", "Taylor", "Swift."]);
  assert.deepEqual(timed.slice(0, 5).map((w) => w.start), [0.2, 0.6, 0.9, 1.0, 1.4]);
  assert.deepEqual(timed.slice(5).map((w) => [w.start, w.end]), [[1.5, 1.75], [1.75, 2.0]]);
});

test("added words share the gap around them; deleted words are skipped", () => {
  const text = "please play shake off by tailor's now";
  const timed = timeWords(text, WHISPER, 3);
  assert.deepEqual(slice(text, timed), ["please", "play", "shake", "off", "by", "tailor's", "now"]);
  assert.deepEqual([timed[0].start, timed[0].end], [0, 0.2]); // before the first timed word
  assert.deepEqual(timed.slice(2, 4).map((w) => w.start), [0.6, 1.0]); // "it" deleted: skipped
  assert.deepEqual([timed[6].start, timed[6].end], [2, 3]); // after the last timed word: up to the end
  assert.equal(timeWords("", WHISPER, 3).length, 0);
  assert.deepEqual(timeWords("hello there", [], 2).map((w) => w.start), [0, 1]);
});

test("the word keys step from the playhead, or word by word from where they last went", () => {
  const timed = timeWords("play shake it off by tailor's", WHISPER, 3);
  assert.equal(stepWord(timed, { time: 0, direction: 1 }), 0);
  assert.equal(stepWord(timed, { time: 0.7, direction: 1 }), 2); // inside "shake": next is "it"
  assert.equal(stepWord(timed, { time: 0.7, direction: -1 }), 0); // inside "shake": the one before
  assert.equal(stepWord(timed, { time: 0.6, direction: -1 }), 0); // at the start of "shake"
  assert.equal(stepWord(timed, { time: 1.35, direction: -1 }), 3); // between "off" and "by": "off"
  assert.equal(stepWord(timed, { time: 2.5, direction: 1 }), -1); // nothing after the last word
  assert.equal(stepWord(timed, { time: 0.9, direction: 1, from: 2 }), 3);
  assert.equal(stepWord(timed, { time: 0.9, direction: -1, from: 0 }), 0);
  assert.equal(wordAtTime(timed, 0.95), 2);
  assert.equal(wordAtTime(timed, 0.1), -1);
});
