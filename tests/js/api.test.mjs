// The review API helpers (static/review/api.js): which answers are retried, and how long to wait.
import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffMs, isRetryable } from "../../static/review/api.js";

test("no answer, sign-in, rate limits and server errors are retried; client errors are not", () => {
  for (const status of [0, 401, 408, 429, 500, 502, 503]) assert.ok(isRetryable(status), String(status));
  for (const status of [200, 201, 400, 403, 404, 409]) assert.ok(!isRetryable(status), String(status));
});

test("backoff doubles from 1 s up to 30 s, within 15% jitter", () => {
  for (const [attempt, base] of [
    [0, 1000],
    [1, 2000],
    [4, 16000],
    [5, 30000],
    [9, 30000],
  ]) {
    for (let i = 0; i < 20; i++) {
      const ms = backoffMs(attempt);
      assert.ok(ms >= base * 0.85 && ms <= base * 1.15, `${attempt}: ${ms}`);
    }
  }
});
