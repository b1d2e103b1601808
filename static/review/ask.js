// Review page plugin (docs/review-plugins.md): "ask for a second opinion".
//
// The reviewer asks a team lead about the clip under review ("what is this
// word?"), optionally at the moment the player is at. The question goes to the
// leads' inbox inside the product (/lead/inbox/), audited: no chat rooms, no
// copies of the clip. Answers are polled and shown here, also for earlier clips.
// The endpoint comes from review.config("ask") (annotate/leads/templatetags/leads_review.py).
//
// Keys: Alt+Q goes to the question; Enter sends it (Shift+Enter: new line).

import { el } from "./dom.js";
import { clock } from "./format.js";
import { t, tf } from "./i18n.js";

const MAX_QUESTION = 500;

/** The side panel: the question form, this clip's questions, and answers about earlier clips. */
export class AskPlugin {
  /** `pollMs`: how often to look for answers while a question is open (default 10 s). */
  constructor(review, { pollMs = 10_000 } = {}) {
    this.review = review;
    this.url = review.config("ask").urls.questions;
    this.pollMs = pollMs;
    this.current = null;
    this.questions = []; // newest first, as the server sends them
    this.known = new Map(); // id -> answered_at, to announce new answers once
    this.timer = null;
    this.sending = false;
    this.build();
    this.wire();
    this.poll();
  }

  build() {
    const panel = this.review.panel("second-opinion", t("Second opinion"));
    panel.classList.add("ask");
    const intro = el("p", { class: "small muted", text: t("Not sure? Ask a team lead about this clip. Only leads see it.") });
    this.form = el("form", { class: "ask-form", novalidate: true });
    const label = el("label", { for: "ask-question", text: t("Your question") });
    this.question = el("textarea", {
      id: "ask-question",
      rows: 2,
      maxlength: MAX_QUESTION,
      placeholder: t("e.g. what is the word at 0:02?"),
      "aria-keyshortcuts": "Alt+Q",
    });
    const momentRow = el("label", { class: "ask-moment" });
    this.moment = el("input", { type: "checkbox", id: "ask-moment" });
    this.momentText = el("span", { text: t("at the player’s position") });
    momentRow.append(this.moment, " ", this.momentText);
    this.send = el("button", { type: "submit", text: t("Ask a lead") });
    const hint = el("span", { class: "small muted", text: ` ${t("Enter sends")}` });
    this.form.append(label, this.question, momentRow, this.send, hint);
    this.list = el("ul", { class: "ask-list", "aria-live": "polite" });
    this.earlier = el("ul", { class: "ask-list earlier", "aria-live": "polite" });
    this.earlierTitle = el("p", { class: "small muted", hidden: true, text: t("Answers about earlier clips") });
    panel.replaceChildren(intro, this.form, this.list, this.earlierTitle, this.earlier);
  }

  item(q) {
    const li = el("li", { "data-question": q.id, class: q.answer ? "answered" : "open" });
    const asked = el("p", { class: "ask-q", text: q.question });
    if (q.moment != null) asked.append(" ", el("span", { class: "chip", text: tf("at %(moment)s", { moment: clock(q.moment) }) }));
    li.append(asked);
    li.append(
      q.answer
        ? el("p", { class: "ask-a", text: tf("Lead: %(answer)s", { answer: q.answer }) })
        : el("p", { class: "ask-a muted small", text: t("Waiting for a lead…") }),
    );
    return li;
  }

  render() {
    const taskId = this.current ? this.current.task_id : null;
    this.list.replaceChildren(...this.questions.filter((q) => q.task_id === taskId).map((q) => this.item(q)));
    const others = this.questions.filter((q) => q.task_id !== taskId && q.answer).slice(0, 5);
    this.earlier.replaceChildren(...others.map((q) => this.item(q)));
    this.earlierTitle.hidden = others.length === 0;
  }

  merge(incoming) {
    let fresh = null;
    for (const q of incoming) {
      const before = this.known.get(q.id);
      if (q.answered_at && before !== q.answered_at && before !== undefined) fresh = q;
      this.known.set(q.id, q.answered_at);
    }
    this.questions = incoming;
    this.render();
    if (fresh) this.review.status(tf("A lead answered “%(question)s”: %(answer)s", { question: fresh.question.slice(0, 60), answer: fresh.answer }), "info");
  }

  async poll() {
    clearTimeout(this.timer);
    try {
      const response = await fetch(this.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) this.merge((await response.json()).questions || []);
    } catch {
      // offline for a moment: the next round tries again
    }
    const waiting = this.questions.some((q) => !q.answer);
    this.timer = setTimeout(() => this.poll(), waiting ? this.pollMs : this.pollMs * 3);
  }

  async ask() {
    const { review } = this;
    const text = this.question.value.trim();
    if (!this.current || this.sending) return;
    if (!text) {
      review.status(t("Type your question first."), "error");
      this.question.focus();
      return;
    }
    this.sending = true;
    this.send.disabled = true;
    const body = {
      task_id: this.current.task_id,
      question: text,
      moment: this.moment.checked ? Math.round(review.player.currentTime() * 100) / 100 : null,
    };
    const { status, data } = await review.api.post(this.url, body);
    this.sending = false;
    this.send.disabled = false;
    if (status === 201) {
      this.known.set(data.id, data.answered_at);
      this.questions = [data, ...this.questions];
      this.question.value = "";
      this.moment.checked = false;
      this.render();
      review.status(t("Your question went to the team leads. Carry on: the answer shows here."), "ok");
      this.poll();
    } else {
      review.status(data.error || t("The question was not sent. Try again."), "error");
    }
  }

  wire() {
    const { review } = this;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.ask();
    });
    this.question.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.altKey && !event.isComposing) {
        event.preventDefault();
        this.ask();
      }
    });
    this.moment.addEventListener("change", () => {
      this.momentText.textContent = this.moment.checked
        ? tf("at %(time)s in the clip", { time: clock(review.player.currentTime()) })
        : t("at the player’s position");
    });
    review.keys.register({
      combo: "Alt+Q",
      label: t("Ask a lead for a second opinion"),
      group: "Clip",
      run: () => {
        this.review.reveal?.("second-opinion"); // into view in the side column, then the question
        this.question.focus();
      },
    });
    review.onClipChange((payload) => {
      this.current = payload; // questions about the clip we left move to "earlier clips" once answered
      this.moment.checked = false;
      this.momentText.textContent = t("at the player’s position");
      this.form.hidden = !payload;
      this.render();
    });
  }
}

/** The plugin entry point (docs/review-plugins.md). `options.pollMs`: see AskPlugin. */
export function install(review, options = {}) {
  return new AskPlugin(review, options);
}
