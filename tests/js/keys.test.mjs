// The review page's key map (static/review/keys.js): combos parse and match the way docs/keys.md says.
import assert from "node:assert/strict";
import { test } from "node:test";

import { KEYMAP, ariaShortcuts, bindingFor, comboParts, matches, parseCombo, primaryCombo } from "../../static/review/keys.js";

const press = (key, { ctrl = false, alt = false, shift = false, meta = false, code = "" } = {}) => ({
  key,
  code,
  ctrlKey: ctrl,
  altKey: alt,
  shiftKey: shift,
  metaKey: meta,
});

test("parseCombo reads modifiers and the key, including a bare plus", () => {
  assert.deepEqual(parseCombo("Alt+["), { ctrl: false, alt: true, shift: false, meta: false, key: "[" });
  assert.deepEqual(parseCombo("Ctrl+Enter"), { ctrl: true, alt: false, shift: false, meta: false, key: "Enter" });
  assert.equal(parseCombo("Alt++").key, "+");
  assert.equal(parseCombo("+").key, "+");
});

test("a letter matches the typed letter, or the physical key when the layout types no Latin letter", () => {
  assert.ok(matches(press("r", { alt: true, code: "KeyR" }), "Alt+R"));
  assert.ok(matches(press("к", { alt: true, code: "KeyR" }), "Alt+R"));
  assert.ok(!matches(press("r", { code: "KeyR" }), "Alt+R"));
  assert.ok(!matches(press("R", { alt: true, shift: true, code: "KeyR" }), "Alt+R"));
});

test("Shift is free for ? and /, and punctuation matches by code too", () => {
  assert.ok(matches(press("?", { shift: true }), "?"));
  assert.ok(matches(press("?", { alt: true, shift: true, code: "Slash" }), "Alt+/"));
  assert.ok(matches(press("≤", { alt: true, code: "Comma" }), "Alt+,"));
});

test("every action has one binding and no combo is bound twice", () => {
  const actions = KEYMAP.map((b) => b.action);
  assert.equal(new Set(actions).size, actions.length);
  const combos = KEYMAP.flatMap((b) => b.keys.map((c) => JSON.stringify(parseCombo(c))));
  assert.equal(new Set(combos).size, combos.length);
});

test("bindingFor, primaryCombo, ariaShortcuts and comboParts agree with the map", () => {
  assert.equal(bindingFor(press("Enter", { ctrl: true }))?.action, "submit");
  assert.equal(bindingFor(press("q", { ctrl: true })), null);
  assert.equal(primaryCombo("playPause"), "Ctrl+Space");
  assert.equal(ariaShortcuts("playPause"), "Control+Space Alt+K");
  assert.deepEqual(comboParts("Alt+ArrowUp"), ["Alt", "↑"]);
});
