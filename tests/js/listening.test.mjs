// What the reviewer heard (static/review/listening.js): played stretches, not seeks; speed by time.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Listening, unchangedText, unionIntervals, unionLength } from "../../static/review/listening.js";

test("intervals are merged when they overlap or touch, and their union is measured within the clip", () => {
  assert.deepEqual(unionIntervals([[2, 3], [0, 1], [0.5, 1.5], [3, 4]]), [[0, 1.5], [2, 4]]);
  assert.equal(unionLength([[0, 1], [0.5, 2], [5, 6]]), 3);
  assert.equal(unionLength([[-1, 1], [4, 9]], 5), 2);
  assert.equal(unionLength([[3, 2], [NaN, 4]]), 0);
});

/** Play from `from` to `to` at `rate`, sampling every 50 ms of wall time, starting at wall time `wall`. */
function play(listening, { from, to, rate = 1, wall }) {
  let t = from;
  let ms = wall;
  listening.sample(t, { playing: true, rate, wallMs: ms });
  while (t < to) {
    ms += 50;
    t = Math.min(to, t + 0.05 * rate);
    listening.sample(t, { playing: true, rate, wallMs: ms });
  }
  listening.sample(t, { playing: false, rate, wallMs: ms });
  return ms;
}

test("the heard share is the union of what played; a seek is not listening", () => {
  const l = new Listening();
  let wall = play(l, { from: 0, to: 2, wall: 0 });
  l.sample(6, { playing: false, rate: 1, wallMs: wall + 10 }); // seek forward while paused
  wall = play(l, { from: 6, to: 8, wall: wall + 1000 });
  wall = play(l, { from: 1, to: 3, wall: wall + 1000 }); // heard 1–2 again: counted once
  assert.equal(l.fraction(10), 0.5);
  assert.equal(l.fraction(0), 0);
});

test("a jump while playing (a seek mid-play) is not counted as heard", () => {
  const l = new Listening();
  l.sample(0, { playing: true, rate: 1, wallMs: 0 });
  l.sample(0.25, { playing: true, rate: 1, wallMs: 250 });
  l.sample(5, { playing: true, rate: 1, wallMs: 300 }); // seek
  l.sample(5.25, { playing: true, rate: 1, wallMs: 550 });
  assert.equal(l.fraction(10), 0.05);
  l.sample(5.3, { playing: true, rate: 1, wallMs: 600, jump: true }); // a short seek, said to be one
  assert.equal(l.fraction(10), 0.05);
});

test("playing to the end counts the end, though the last sample fell a little short", () => {
  const l = new Listening();
  for (let ms = 0; ms <= 2950; ms += 50) l.sample(ms / 1000, { playing: true, rate: 1, wallMs: ms });
  l.sample(2.96, { playing: false, rate: 1, wallMs: 3000, ended: true, duration: 3 });
  assert.equal(l.fraction(3), 1);
});

test("the speed is weighted by the time spent listening at it", () => {
  const l = new Listening();
  const wall = play(l, { from: 0, to: 2, rate: 1, wall: 0 }); // 2 s of wall time at 1×
  play(l, { from: 2, to: 4, rate: 2, wall: wall + 500 }); // 1 s of wall time at 2×
  assert.equal(l.meanRate(), 1.333);
  assert.equal(l.fraction(4), 1);
  assert.equal(new Listening().meanRate(1.25), 1.25);
});

test("Whisper's text is unchanged when only white space differs", () => {
  assert.ok(unchangedText("  play  shake it off ", "play shake it off"));
  assert.ok(!unchangedText("play shake it off.", "play shake it off"));
  assert.ok(unchangedText("", ""));
});
