// The review page, the reviewer's choices: the grade of the assistant's answer,
// whether its intent was right, and the transcript markers. Methods of
// ReviewPage (page.js); the grades themselves come from the server
// (review_page's json_script state, rendered as buttons by the template).

import { t, tf } from "./i18n.js";

/** Grade values → the key map's actions (keys.js): Alt+R, Alt+P, Alt+W, Alt+C. */
export const GRADE_ACTIONS = { right: "gradeRight", partly: "gradePartly", wrong: "gradeWrong", cant_tell: "gradeCantTell" };
export const MARKERS = { noSpeech: "no_speech", unintelligible: "unintelligible", otherLanguage: "other_language" };
const MARKER_NAMES = { no_speech: t("No speech"), unintelligible: t("Unintelligible"), other_language: t("Other language") };

/** Alt+I cycles the intent: not graded → right → wrong → not graded. */
export function nextIntent(intent) {
  return intent === null ? true : intent === true ? false : null;
}

/** What the screen reader hears after the intent changed. */
export function intentAnnouncement(intent) {
  return intent === null ? t("Intent not graded") : intent ? t("Intent right") : t("Intent wrong");
}

export const Grades = {
  setGrade(value) {
    this.grade = this.grade === value ? "" : value;
    this.renderChoices();
    const label = document.querySelector(`.grade[data-grade="${value}"]`)?.firstChild?.textContent?.trim();
    this.announce(this.grade ? tf("Answer: %(grade)s", { grade: label }) : t("Answer not graded"));
  },

  setIntent(value) {
    this.intent = this.intent === value ? null : value;
    this.renderChoices();
    this.announce(intentAnnouncement(this.intent));
  },

  cycleIntent() {
    this.intent = nextIntent(this.intent);
    this.renderChoices();
    this.announce(intentAnnouncement(this.intent));
  },

  toggleMarker(name) {
    this.markers[name] = !this.markers[name];
    this.renderChoices();
    this.announce(`${MARKER_NAMES[name]} ${this.markers[name] ? t("marked") : t("unmarked")}`);
  },

  renderChoices() {
    for (const button of document.querySelectorAll(".grade")) {
      button.setAttribute("aria-pressed", String(button.dataset.grade === this.grade));
    }
    for (const button of document.querySelectorAll(".intent-option")) {
      button.setAttribute("aria-pressed", String(this.intent !== null && String(this.intent) === button.dataset.intent));
    }
    for (const button of document.querySelectorAll("[data-marker]")) {
      button.setAttribute("aria-pressed", String(this.markers[button.dataset.marker]));
    }
  },
};
