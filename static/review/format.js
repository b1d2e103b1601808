// Pure text formatting shared by the review page and its plugins (unit-tested in tests/js/).

/** 75.3 → "1:15.3"; with tenths = false, "1:15". */
export function clock(seconds, tenths = true) {
  const s = Math.max(0, Number.isFinite(seconds) ? seconds : 0);
  const minutes = Math.floor(s / 60);
  const rest = s - minutes * 60;
  const text = tenths ? rest.toFixed(1).padStart(4, "0") : String(Math.floor(rest)).padStart(2, "0");
  return `${minutes}:${text}`;
}

/** A server message as a sentence: capital first letter, full stop at the end. */
export function sentence(text) {
  const trimmed = text.trim().replace(/[.\s]+$/, "");
  return trimmed ? `${trimmed[0].toUpperCase()}${trimmed.slice(1)}.` : "";
}
