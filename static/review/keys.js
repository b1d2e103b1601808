// The review page's key map: the one place that says which key does what.
// Documented in docs/keys.md; the help overlay (?) and every button's
// aria-keyshortcuts and <kbd> hint are generated from KEYMAP below.
//
// The scheme: every action on the page is Alt + a letter (or Ctrl + Enter /
// Ctrl + Space), so typing in the transcript never triggers one. Keys that
// Chromium on Linux or the desktop already use are left alone: Alt+F and Alt+E
// (browser menu), Alt+D (address bar), Alt+Home, Alt+Left/Right (back/forward),
// Alt+1…8 (tabs), Alt+Shift+… (browser), Alt+Space and Alt+Tab (window manager).
// Plain keys (digits, Enter, ?) act only inside a dialog, or outside text fields.

import { t } from "./i18n.js";

/**
 * @typedef {{action: string, keys: string[], label: string, group: string, repeat?: boolean}} Binding
 * repeat: the action runs again while the key is held down (otherwise once per press).
 */

/** @type {Binding[]} */
export const KEYMAP = [
  // Playback
  { action: "playPause", keys: ["Ctrl+Space", "Alt+K"], label: t("Play / pause"), group: "Playback" },
  { action: "replay", keys: ["Alt+J"], label: t("Replay the last 2 seconds"), group: "Playback" },
  { action: "prevWord", keys: ["Alt+["], label: t("Previous word: playhead and caret"), group: "Playback", repeat: true },
  { action: "nextWord", keys: ["Alt+]"], label: t("Next word: playhead and caret"), group: "Playback", repeat: true },
  { action: "loop", keys: ["Alt+G"], label: t("Loop 2 s either side of the playhead (again: stop)"), group: "Playback" },
  { action: "slower", keys: ["Alt+,"], label: t("Slower (down to 0.5×)"), group: "Playback" },
  { action: "faster", keys: ["Alt+."], label: t("Faster (up to 2×)"), group: "Playback" },
  { action: "volumeUp", keys: ["Alt+ArrowUp"], label: t("Volume up"), group: "Playback", repeat: true },
  { action: "volumeDown", keys: ["Alt+ArrowDown"], label: t("Volume down"), group: "Playback", repeat: true },
  { action: "hearClearly", keys: ["Alt+V"], label: t("Hear a muffled clip clearly (it was announced: likely distressing, or maybe accidental)"), group: "Playback" },

  // Transcript
  { action: "focusTranscript", keys: ["Alt+T"], label: t("Go to the transcript"), group: "Transcript" },
  { action: "selectWord", keys: ["Alt+H"], label: t("Select the word under the playhead (type to replace it)"), group: "Transcript" },
  { action: "noSpeech", keys: ["Alt+M"], label: t("Marker: no speech (mute)"), group: "Transcript" },
  { action: "unintelligible", keys: ["Alt+U"], label: t("Marker: unintelligible"), group: "Transcript" },
  { action: "otherLanguage", keys: ["Alt+O"], label: t("Marker: other language"), group: "Transcript" },

  // The assistant's answer
  { action: "gradeRight", keys: ["Alt+R"], label: t("Answer right"), group: "Answer" },
  { action: "gradePartly", keys: ["Alt+P"], label: t("Answer partly right"), group: "Answer" },
  { action: "gradeWrong", keys: ["Alt+W"], label: t("Answer wrong"), group: "Answer" },
  { action: "gradeCantTell", keys: ["Alt+C"], label: t("Can't tell"), group: "Answer" },
  { action: "intent", keys: ["Alt+I"], label: t("Intent: right → wrong → not graded"), group: "Answer" },

  // The clip
  { action: "submit", keys: ["Ctrl+Enter"], label: t("Submit and show the next clip"), group: "Clip" },
  { action: "undo", keys: ["Alt+B"], label: t("Undo the last submit: bring that clip back"), group: "Clip" },
  { action: "skip", keys: ["Alt+S"], label: t("Skip… (then the reason's number)"), group: "Clip" },
  { action: "accidental", keys: ["Alt+A"], label: t("Accidental recording… (then Enter)"), group: "Clip" },
  { action: "help", keys: ["?", "Alt+/"], label: t("Show / hide these keys"), group: "Clip" },
];

/**
 * Add a key from a page plugin (docs/review-plugins.md): {combo, label, group, run}.
 * It joins the help overlay; `run(event)` is called when it is pressed. A combo
 * that is already taken is refused (with a console warning), so a plugin can
 * never take over a key of the page.
 */
export function register({ combo, label, group = "Clip", run }) {
  const probe = parseCombo(combo);
  const taken = KEYMAP.find((b) => b.keys.some((c) => JSON.stringify(parseCombo(c)) === JSON.stringify(probe)));
  if (taken) {
    console.warn(`review keys: ${combo} is already "${taken.label}"; not registered for "${label}"`);
    return false;
  }
  KEYMAP.push({ action: `plugin:${combo}`, keys: [combo], label, group, run });
  return true;
}

/** Keys that only act inside a dialog: listed in the help, handled by the dialog. */
export const DIALOG_KEYS = [
  { keys: ["1…4"], label: t("Skip dialog: pick the reason") },
  { keys: ["Enter"], label: t("Accidental dialog: confirm (purges the audio)") },
  { keys: ["Enter"], label: t("Not heard in full: submit Whisper's text as it is") },
  { keys: ["Escape"], label: t("Close a dialog, cancel") },
];

export const GROUP_TITLES = {
  Playback: t("Playback"),
  Transcript: t("Transcript"),
  Answer: t("The assistant's answer"),
  Clip: t("The clip"),
  Entities: t("Entities"),
};

const CODES = { ",": "Comma", ".": "Period", "[": "BracketLeft", "]": "BracketRight", "/": "Slash" };

/** "Alt+[" → {ctrl, alt, shift, meta, key} */
export function parseCombo(combo) {
  const parts = combo === "+" ? ["+"] : combo.split(/\+(?!$)/);
  const key = parts.pop();
  const mods = new Set(parts);
  return { ctrl: mods.has("Ctrl"), alt: mods.has("Alt"), shift: mods.has("Shift"), meta: mods.has("Meta"), key };
}

function keyMatches(event, key) {
  if (/^[A-Z]$/.test(key)) {
    // The letter the layout produces; the physical key when it produces no Latin letter.
    const typed = event.key.length === 1 ? event.key.toLowerCase() : "";
    return /^[a-z]$/.test(typed) ? typed === key.toLowerCase() : event.code === `Key${key}`;
  }
  if (/^[0-9]$/.test(key)) return event.key === key || event.code === `Digit${key}` || event.code === `Numpad${key}`;
  if (key === "Space") return event.code === "Space" || event.key === " ";
  if (key in CODES) return event.key === key || event.code === CODES[key];
  return event.key === key;
}

/** Does the keydown event press this combo? Shift is free for "?" and "/" (Alt+? = Alt+/). */
export function matches(event, combo) {
  const want = parseCombo(combo);
  const shiftFree = want.key === "?" || want.key === "/";
  return (
    event.ctrlKey === want.ctrl &&
    event.altKey === want.alt &&
    event.metaKey === want.meta &&
    (shiftFree || event.shiftKey === want.shift) &&
    keyMatches(event, want.key)
  );
}

/** The digit 1–9 of an unmodified key press (top row or keypad, whatever the layout), else 0. */
export function digitOf(event) {
  if (event.ctrlKey || event.altKey || event.metaKey) return 0;
  const match = /^(?:Digit|Numpad)([1-9])$/.exec(event.code || "") || /^([1-9])$/.exec(event.key);
  return match ? Number(match[1]) : 0;
}

/** The binding the event presses, if any. */
export function bindingFor(event) {
  return KEYMAP.find((b) => b.keys.some((combo) => matches(event, combo))) || null;
}

export function isTextField(element) {
  if (!element) return false;
  if (element.isContentEditable) return true;
  if (element.tagName === "TEXTAREA") return true;
  return element.tagName === "INPUT" && !["button", "checkbox", "radio", "range", "submit"].includes(element.type);
}

/** Plain keys ("?") must not fire while typing; modified keys always may. */
export function allowedIn(event, combo) {
  const { ctrl, alt, meta } = parseCombo(combo);
  return ctrl || alt || meta || !isTextField(event.target);
}

/** The action's keys as the aria-keyshortcuts attribute wants them. */
export function ariaShortcuts(action) {
  const binding = KEYMAP.find((b) => b.action === action);
  if (!binding) return "";
  return binding.keys.map((combo) => combo.replace("Ctrl", "Control")).join(" ");
}

/** A key combo as <kbd> markup-free text pieces, e.g. "Alt+[" → ["Alt", "["]. */
export function comboParts(combo) {
  const { ctrl, alt, shift, meta, key } = parseCombo(combo);
  const names = { ArrowUp: "↑", ArrowDown: "↓", ArrowLeft: "←", ArrowRight: "→", Escape: "Esc", Delete: "Del" };
  return [ctrl && "Ctrl", alt && "Alt", shift && "Shift", meta && "Meta", names[key] || key].filter(Boolean);
}

/** A <kbd> element for a combo: <kbd><kbd>Alt</kbd>+<kbd>R</kbd></kbd>. */
export function kbd(combo) {
  const outer = document.createElement("kbd");
  outer.className = "combo";
  comboParts(combo).forEach((part, i) => {
    if (i) outer.append("+");
    const inner = document.createElement("kbd");
    inner.textContent = part;
    outer.append(inner);
  });
  return outer;
}

/** The first combo of an action (for hints on buttons). */
export function primaryCombo(action) {
  const binding = KEYMAP.find((b) => b.action === action);
  return binding ? binding.keys[0] : "";
}

/**
 * Listen for the key map on the document. `handlers[action](event)` runs for a
 * matching key; `intercept(event)` runs first and may claim the event (dialogs).
 * Returns a function that removes the listener.
 */
export function bindKeys({ handlers, intercept = () => false }) {
  function onKeyDown(event) {
    if (event.isComposing || event.defaultPrevented) return;
    if (intercept(event)) return;
    const binding = bindingFor(event);
    const run = binding && (binding.run || handlers[binding.action]);
    if (!run) return;
    const combo = binding.keys.find((c) => matches(event, c));
    if (!allowedIn(event, combo)) return;
    event.preventDefault();
    event.stopPropagation();
    if (event.repeat && !binding.repeat) return;
    run(event);
  }
  document.addEventListener("keydown", onKeyDown, true);
  return () => document.removeEventListener("keydown", onKeyDown, true);
}
