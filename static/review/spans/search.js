// Entity spans, the catalog search: the box that links a span to a catalog
// entry (GET ?q&kind&limit → {results}), driven from the keyboard — Enter links
// the highlighted entry, ↑/↓ move, Shift+Enter keeps the name as typed ("not in
// catalog"), Escape leaves the span unlinked for later.

import { el } from "../dom.js";
import { fold } from "./offsets.js";
import { t, tf } from "../i18n.js";

const SEARCH_DEBOUNCE_MS = 120;
const RESULTS = 6;

export const SEARCH_KEYS = [
  { combo: "Enter", label: t("Link the highlighted entry (the top one unless you moved)") },
  { combo: "↑ / ↓", label: t("Move through the entries") },
  { combo: "Shift+Enter", label: t("Not in catalog: keep the name as typed") },
  { combo: "Escape", label: t("Link later (the span stays, marked not linked)") },
];

/**
 * The link box. Callbacks: onLink(span, entry), onNotInCatalog(span, name),
 * onLater(span), say(message, kind). `keyHint(combo)` makes a <kbd>.
 */
export class LinkBox {
  constructor({ url, keyHint, onLink, onNotInCatalog, onLater, say }) {
    Object.assign(this, { url, onLink, onNotInCatalog, onLater, say });
    this.session = null; // {span} while the box is open for a span
    this.results = [];
    this.highlight = 0;
    this.searching = null;
    this.timer = 0;
    this.abort = null;
    this.input = el("input", {
      type: "search",
      className: "spans-search",
      autocomplete: "off",
      spellcheck: "false",
      enterkeyhint: "done",
      "aria-label": t("Search the catalog"),
      "aria-controls": "spans-results",
      "aria-autocomplete": "list",
    });
    this.list = el("ol", { className: "spans-results", id: "spans-results", role: "listbox" });
    this.title = el("p", { className: "spans-link-title" });
    this.element = el(
      "div",
      { className: "spans-link", hidden: true },
      this.title,
      this.input,
      this.list,
      el(
        "p",
        { className: "small muted spans-keys" },
        ...SEARCH_KEYS.flatMap(({ combo, label }) => [keyHint(combo), ` ${label.split(" (")[0]} · `]),
      ),
    );
    this.input.addEventListener("input", () => this.schedule());
    this.input.addEventListener("keydown", (event) => this.onKey(event));
  }

  /** Open for a span: the search starts from its linked name, or its words. */
  show(span, kindName) {
    this.session = { span };
    this.title.textContent = tf("Link “%(words)s” (%(kind)s) to the catalog", { words: span.text, kind: kindName });
    this.element.hidden = false;
    this.input.value = span.entity && !span.needsRecheck ? span.entity.name : span.notInCatalogName || span.text;
    this.results = [];
    this.highlight = 0;
    this.renderResults();
    this.input.focus();
    this.input.select();
    this.run();
  }

  close() {
    this.session = null;
    this.element.hidden = true;
    clearTimeout(this.timer);
  }

  schedule() {
    clearTimeout(this.timer);
    this.searching = new Promise((resolve) => {
      this.timer = setTimeout(() => this.run().then(resolve), SEARCH_DEBOUNCE_MS);
    });
  }

  run() {
    const session = this.session;
    if (!session) return Promise.resolve();
    const query = this.input.value.trim();
    if (this.abort) this.abort.abort();
    this.abort = new AbortController();
    const url = `${this.url}?${new URLSearchParams({ q: query, kind: session.span.kind, limit: String(RESULTS) })}`;
    this.searching = fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: this.abort.signal,
    })
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`answer ${response.status}`))))
      .then((data) => {
        if (this.session !== session || this.input.value.trim() !== query) return;
        this.results = data.results || [];
        this.highlight = 0;
        this.renderResults();
      })
      .catch((error) => {
        if (error.name !== "AbortError") this.say(tf("Catalog search failed (%(why)s).", { why: error.message }), "error");
      });
    return this.searching;
  }

  async onKey(event) {
    const session = this.session;
    if (!session) return;
    if (event.key === "Enter") {
      event.preventDefault(); // never the form's implicit submit
      event.stopPropagation();
      if (event.ctrlKey || event.altKey || event.metaKey) return;
      if (event.shiftKey) return this.onNotInCatalog(session.span, this.input.value.trim() || session.span.text);
      await this.searching; // Enter right after typing: wait for the answer to what was typed
      if (this.session !== session) return;
      const choice = this.results[this.highlight];
      if (!choice) return this.say(t("Nothing found: Shift+Enter marks it not in catalog."), "error");
      this.onLink(session.span, choice);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!this.results.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.highlight = (this.highlight + step + this.results.length) % this.results.length;
      this.renderResults();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.onLater(session.span);
    }
  }

  renderResults() {
    const items = this.results.map((r, i) =>
      el(
        "li",
        {
          role: "option",
          id: `spans-result-${i}`,
          className: "spans-result",
          "aria-selected": String(i === this.highlight),
          onmousedown: (event) => {
            event.preventDefault();
            if (this.session) this.onLink(this.session.span, r);
          },
        },
        el("span", { className: "spans-result-name", text: r.name }),
        r.matched && fold(r.matched) !== fold(r.name)
          ? el("span", { className: "muted small", text: ` (${r.matched})` })
          : null,
        el("span", { className: "muted small spans-result-meta", text: ` ${r.kind_name} · ${r.popularity}` }),
        i === 0 ? el("kbd", { className: "spans-enter", text: "Enter" }) : null,
      ),
    );
    if (!items.length) {
      items.push(el("li", { className: "muted small", text: t("Type a name; Shift+Enter: not in catalog.") }));
    }
    this.list.replaceChildren(...items);
    // The side column scrolls on its own: the results (and the chosen one) in view, above the submit bar.
    if (this.results.length) this.list.children[this.highlight]?.scrollIntoView({ block: "nearest" });
    if (this.results.length) this.input.setAttribute("aria-activedescendant", `spans-result-${this.highlight}`);
    else this.input.removeAttribute("aria-activedescendant");
  }
}
