// Entity spans on the corrected transcript, a review-page plugin
// (docs/review-plugins.md, docs/entities.md): review.js calls install(review) once.
//
//   spans/offsets.js      pure offset maths: words, selections, where a span goes after an edit
//   spans/search.js       the catalog search box that links a span
//   spans/suggestions.js  the spans the catalog suggests, accepted or rejected
//   spans/tagger.js       the tagger: spans, the kind prompt, the keys, the panel

import { linkStylesheet } from "./dom.js";
import { SpanTagger } from "./spans/tagger.js";

// The edit rules, importable from the page too (tests/test_entities_browser.py runs them in Chromium).
export { diffRange, edgesGlued, extendSelection, moveSpan } from "./spans/offsets.js";
export { SPAN_KEYS } from "./spans/tagger.js";

/** The plugin entry point (docs/review-plugins.md). */
export function install(review) {
  linkStylesheet(new URL("./spans.css", import.meta.url).href, "spans");
  const tagger = new SpanTagger(review);
  window.__spans = tagger;
  return tagger;
}
