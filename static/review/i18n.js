// The page's words in the person's language: Django's JavaScript catalogue (/jsi18n/, loaded by
// base.html before the modules) gives gettext and ngettext; without it, the English text.

/** A message in the page's language. */
export function t(message) {
  return typeof globalThis.gettext === "function" ? globalThis.gettext(message) : message;
}

function fill(message, parts) {
  return message.replace(/%\(([a-z_]+)\)s/g, (_, name) => String(parts[name] ?? ""));
}

/** A message with named parts: tf("Lease %(left)s", {left: "9:58"}). */
export function tf(message, parts) {
  return fill(t(message), parts);
}

/**
 * A message whose words depend on a number, with named parts; the catalogue picks the plural
 * form (Romanian has three: 1 clip, 2 clipuri, 20 de clipuri):
 * tn("%(n)s clip", "%(n)s clips", count, {n: count}).
 */
export function tn(singular, plural, count, parts) {
  const message =
    typeof globalThis.ngettext === "function" ? globalThis.ngettext(singular, plural, count) : count === 1 ? singular : plural;
  return fill(message, parts);
}
