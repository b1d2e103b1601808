// Entity spans, the suggestions (static/review/spans/suggestions.js): moved with the text, rejected once.
import assert from "node:assert/strict";
import { test } from "node:test";

import { diffRange } from "../../static/review/spans/offsets.js";
import {
  Suggestions,
  moveSuggestions,
  suggestionKey,
  visibleSuggestions,
} from "../../static/review/spans/suggestions.js";

const swift = { start: 5, end: 17, text: "Taylor Swift", kind: "artist", entity: { id: 7, name: "Taylor Swift" } };

test("suggestions move with an edit before them and go when their words change", () => {
  const before = "play Taylor Swift now";
  const moved = moveSuggestions([swift], diffRange(before, "please play Taylor Swift now"), "please play Taylor Swift now");
  assert.deepEqual([moved[0].start, moved[0].end], [12, 24]);
  assert.deepEqual(moveSuggestions([swift], diffRange(before, "play Tay Swift now"), "play Tay Swift now"), []);
});

test("a suggestion whose words run on while typing is hidden", () => {
  assert.equal(visibleSuggestions([swift], "play Taylor Swifty now").length, 0);
  assert.equal(visibleSuggestions([swift], "play Taylor Swift now").length, 1);
});

test("a rejected suggestion is not offered again for the same clip, and a late answer is dropped", async () => {
  let answer = { suggestions: [swift] };
  let changes = 0;
  const suggestions = new Suggestions({
    url: "/suggest",
    post: async () => ({ status: 200, data: answer }),
    onChange: () => changes++,
  });
  const read = () => ({ text: "play Taylor Swift now", spans: [] });
  await suggestions.fetch(read);
  assert.equal(suggestions.items.length, 1);
  suggestions.reject(swift);
  assert.ok(suggestions.rejected.has(suggestionKey(swift)));
  await suggestions.fetch(read);
  assert.equal(suggestions.items.length, 0);

  // An answer that arrives after the clip changed is not applied.
  answer = { suggestions: [{ ...swift, entity: { id: 8, name: "Other" } }] };
  const pending = suggestions.fetch(read);
  suggestions.reset();
  await pending;
  assert.equal(suggestions.items.length, 0);
  assert.equal(changes, 2);
});

test("suggestions over a tagged span are dropped", async () => {
  const suggestions = new Suggestions({
    url: "/suggest",
    post: async () => ({ status: 200, data: { suggestions: [swift] } }),
    onChange: () => {},
  });
  await suggestions.fetch(() => ({ text: "play Taylor Swift now", spans: [{ start: 5, end: 11 }] }));
  assert.equal(suggestions.items.length, 0);
});
