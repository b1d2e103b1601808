// The review page's pure rules: the intent cycle (grades.js) and why a submit is retried (submit.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { GRADE_ACTIONS, intentAnnouncement, nextIntent } from "../../static/review/grades.js";
import { KEYMAP } from "../../static/review/keys.js";
import { retryReason } from "../../static/review/submit.js";

test("Alt+I cycles the intent: not graded, right, wrong, not graded", () => {
  assert.equal(nextIntent(null), true);
  assert.equal(nextIntent(true), false);
  assert.equal(nextIntent(false), null);
  assert.deepEqual([null, true, false].map(intentAnnouncement), ["Intent not graded", "Intent right", "Intent wrong"]);
});

test("every grade's action is in the key map", () => {
  const actions = new Set(KEYMAP.map((b) => b.action));
  for (const action of Object.values(GRADE_ACTIONS)) assert.ok(actions.has(action), action);
});

test("a retried submit says why", () => {
  assert.equal(retryReason(0, "no connection"), "no connection");
  assert.equal(retryReason(401, "x"), "you are signed out; sign in again in another tab");
  assert.equal(retryReason(503, "x"), "the server answered 503");
});
