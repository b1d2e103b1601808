// The review page's small DOM helper, shared by the page and its plugins.

/** The element with this id. */
export const byId = (id) => document.getElementById(id);

/**
 * A new element: el("button", {className: "small", onclick: fn, hidden: true}, "Link", kbd).
 * Attributes: `className` (or `class`), `text` (textContent), `on<event>` (a listener),
 * true → present and empty, false / null / undefined → left out, anything else → its string.
 * Children: nodes or strings; null, undefined and false are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className" || name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** A stylesheet next to a module (`new URL(href, import.meta.url)`), linked once per `key`. */
export function linkStylesheet(href, key) {
  if (document.querySelector(`link[data-stylesheet="${key}"]`)) return;
  const link = el("link", { rel: "stylesheet", href, "data-stylesheet": key });
  document.head.append(link);
}
