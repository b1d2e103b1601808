// Plural forms of the lead's scripts (tn of static/review/i18n.js): English without the catalogue, and the
// form the catalogue's ngettext picks (Romanian: 1 clip, 2 clipuri, 20 de clipuri).
import assert from "node:assert/strict";
import { test } from "node:test";

import { tn } from "../../static/review/i18n.js";

test("without the JavaScript catalogue, English: one, or many", () => {
  assert.equal(tn("%(n)s clip", "%(n)s clips", 1, { n: 1 }), "1 clip");
  assert.equal(tn("%(n)s clip", "%(n)s clips", 0, { n: 0 }), "0 clips");
  assert.equal(tn("%(n)s clip of %(days)s", "%(n)s clips of %(days)s", 3, { n: 3, days: "a week" }), "3 clips of a week");
});

test("with it, the form its ngettext picks for the count, named parts filled in", () => {
  const forms = ["%(n)s clip", "%(n)s clipuri", "%(n)s de clipuri"];
  globalThis.ngettext = (_singular, _plural, n) =>
    forms[n === 1 ? 0 : n === 0 || (n % 100 > 0 && n % 100 < 20) ? 1 : 2];
  try {
    assert.deepEqual(
      [1, 2, 19, 20, 101, 120].map((n) => tn("%(n)s clip", "%(n)s clips", n, { n })),
      ["1 clip", "2 clipuri", "19 clipuri", "20 de clipuri", "101 clipuri", "120 de clipuri"],
    );
  } finally {
    delete globalThis.ngettext;
  }
});
