// The page's words in the reviewer's language: Django's JavaScript catalogue (/jsi18n/, loaded by
// base.html before the modules) gives gettext and interpolate; without it, the English text.

/** A message in the page's language. */
export function t(message) {
  return typeof globalThis.gettext === "function" ? globalThis.gettext(message) : message;
}

/** A message with named parts: tf("Lease %(left)s", {left: "9:58"}). */
export function tf(message, parts) {
  const translated = t(message);
  return translated.replace(/%\(([a-z_]+)\)s/g, (_, name) => String(parts[name] ?? ""));
}
