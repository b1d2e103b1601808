// A message whose words depend on a number, in the page's language: Django's JavaScript catalogue
// (/jsi18n/) picks the plural form (Romanian has three: 1 clip, 2 clipuri, 20 de clipuri); without
// it, English. Named parts as in tf() of review/i18n.js:
// tn("%(n)s clip", "%(n)s clips", count, {n: count}).

export function tn(singular, plural, count, parts) {
  const message =
    typeof globalThis.ngettext === "function" ? globalThis.ngettext(singular, plural, count) : count === 1 ? singular : plural;
  return message.replace(/%\(([a-z_]+)\)s/g, (_, name) => String(parts[name] ?? ""));
}
