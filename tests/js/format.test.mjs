// Text formatting shared by the review page and its plugins (static/review/format.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { clock, sentence } from "../../static/review/format.js";

test("clock shows minutes and seconds, with or without tenths", () => {
  assert.equal(clock(75.34), "1:15.3");
  assert.equal(clock(5), "0:05.0");
  assert.equal(clock(125, false), "2:05");
  assert.equal(clock(-3), "0:00.0");
  assert.equal(clock(Number.NaN), "0:00.0");
});

test("sentence capitalises and ends with one full stop", () => {
  assert.equal(sentence("this clip was withdrawn. "), "This clip was withdrawn.");
  assert.equal(sentence("   "), "");
});
