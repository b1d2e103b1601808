// The review page, dialogs and key hints: the skip dialog (a reason by its
// number), the accidental-recording dialog (Enter confirms), the key help
// overlay built from the key map, and the <kbd> hints and aria-keyshortcuts on
// the page's buttons. Methods of ReviewPage (page.js).

import { byId as $ } from "./dom.js";
import { sentence } from "./format.js";
import { GRADE_ACTIONS } from "./grades.js";
import { DIALOG_KEYS, GROUP_TITLES, KEYMAP, ariaShortcuts, kbd, matches, primaryCombo } from "./keys.js";
import { t, tf } from "./i18n.js";

export const Dialogs = {
  /** While a dialog is open, keys belong to it (returns true: the page's keys stay off). */
  dialogKeys(event) {
    const open = document.querySelector("dialog[open]");
    if (!open) return false;
    const helpKeys = KEYMAP.find((b) => b.action === "help").keys;
    if (open.id === "help" && helpKeys.some((combo) => matches(event, combo))) {
      event.preventDefault();
      open.close();
    } else if (open.id === "skip-dialog") {
      const note = $("skip-note");
      const reasons = [...document.querySelectorAll("[data-reason]")];
      const digit = /^[1-9]$/.test(event.key) ? Number(event.key) : 0;
      if (event.target !== note && digit && digit <= reasons.length && !event.ctrlKey && !event.altKey) {
        event.preventDefault();
        this.pickReason(reasons[digit - 1].dataset.reason);
      } else if (event.target === note && event.key === "Enter") {
        event.preventDefault();
        this.doSkip("other", note.value.trim());
      }
    } else if (open.id === "accidental-dialog" && event.key === "Enter" && !event.repeat) {
      event.preventDefault();
      this.confirmAccidental();
    } else if (open.id === "unheard-dialog" && event.key === "Enter" && !event.repeat) {
      event.preventDefault();
      this.confirmUnheard();
    }
    return true;
  },

  /** aria-keyshortcuts on everything with a key, and a <kbd> hint on buttons and hint slots. */
  decorateKeys() {
    for (const button of document.querySelectorAll(".grade")) {
      button.dataset.action = GRADE_ACTIONS[button.dataset.grade] || "";
    }
    for (const element of document.querySelectorAll("[data-action]")) {
      const action = element.dataset.action;
      const combo = primaryCombo(action);
      if (!combo) continue;
      element.setAttribute("aria-keyshortcuts", ariaShortcuts(action));
      if (element.tagName === "BUTTON" || element.classList.contains("hint-slot")) {
        const hint = kbd(combo);
        hint.classList.add("hint");
        hint.setAttribute("aria-hidden", "true");
        element.append(hint);
      }
    }
    document.querySelector(".speed").title = t("Alt+, slower · Alt+. faster");
  },

  buildHelp() {
    const container = $("help-keys");
    container.replaceChildren();
    const groups = new Map();
    for (const binding of KEYMAP) {
      if (!groups.has(binding.group)) groups.set(binding.group, []);
      groups.get(binding.group).push(binding);
    }
    const section = (title, rows) => {
      const box = document.createElement("section");
      const heading = document.createElement("h3");
      heading.textContent = title;
      const list = document.createElement("dl");
      for (const { keys, label } of rows) {
        const dt = document.createElement("dt");
        keys.forEach((combo, i) => {
          if (i) dt.append(" or ");
          dt.append(kbd(combo));
        });
        const dd = document.createElement("dd");
        dd.textContent = label;
        list.append(dt, dd);
      }
      box.append(heading, list);
      container.append(box);
    };
    for (const [group, rows] of groups) section(GROUP_TITLES[group] || group, rows);
    section(t("In dialogs"), DIALOG_KEYS);
  },

  openSkip() {
    $("skip-note-row").hidden = true;
    $("skip-note").value = "";
    $("skip-dialog").showModal();
    document.querySelector("[data-reason]")?.focus();
  },

  pickReason(reason) {
    if (reason === "other" && $("skip-note-row").hidden) {
      $("skip-note-row").hidden = false;
      $("skip-note").focus();
      return;
    }
    this.doSkip(reason, reason === "other" ? $("skip-note").value.trim() : "");
  },

  async doSkip(reason, note) {
    const item = this.items[0];
    $("skip-dialog").close();
    if (!item) return;
    this.setSave("saving", t("Skipping…"));
    const { status, data } = await this.api.skip(item.id, reason, note);
    if (this.items[0] !== item) return;
    if (status === 200 || status === 409) {
      // 409: the clip had gone already (lease lost, withdrawn for escalation): say why; nothing to retry.
      if (status === 200) this.setSave("saved", t("Skipped: the clip went back to the queue."));
      else this.setSave("info", sentence(data.error || t("this clip is no longer yours")));
      this.advance();
      this.topUp();
    } else {
      this.setSave("error", tf("Not skipped: %(why)s.", { why: data.error || tf("the server answered %(status)s", { status }) }));
    }
  },

  openAccidental() {
    $("accidental-dialog").showModal();
    $("accidental-confirm").focus();
  },

  confirmAccidental() {
    $("accidental-dialog").close();
    this.submit({ accidental: true });
  },

  /** Whisper's text unchanged, the clip not heard in full: one confirmation (Enter), or back (Esc). */
  openUnheard(fraction) {
    $("unheard-share").textContent = `${Math.floor(fraction * 100)}%`;
    $("unheard-dialog").showModal();
    $("unheard-confirm").focus();
  },

  confirmUnheard() {
    $("unheard-dialog").close();
    const item = this.items[0];
    if (!item) return;
    item.confirmedUnheard = true;
    this.submit();
  },

  toggleHelp() {
    const help = $("help");
    if (help.open) help.close();
    else if (!document.querySelector("dialog[open]")) {
      this.buildHelp(); // plugins may have added keys since
      help.showModal();
    }
  },
};
