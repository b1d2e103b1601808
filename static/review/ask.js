// Review page plugin (docs/review-plugins.md): "ask for a second opinion".
//
// The reviewer asks a team lead about the clip under review ("what is this
// word?"), optionally at the moment the player is at. The question goes to the
// leads' inbox inside the product (/lead/inbox/), audited: no chat rooms, no
// copies of the clip. Answers are polled and shown here, also for earlier clips.
//
// Keys: Alt+Q goes to the question; Enter sends it (Shift+Enter: new line).

const MAX_QUESTION = 500;

function clock(seconds) {
  const m = Math.floor(seconds / 60);
  const s = (seconds - m * 60).toFixed(1).padStart(4, "0");
  return `${m}:${s}`;
}

function make(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === true) node.setAttribute(key, "");
    else if (value !== false && value != null) node.setAttribute(key, String(value));
  }
  if (text !== null) node.textContent = text;
  return node;
}

/** `options.pollMs`: how often to look for answers while a question is open (default 10 s). */
export function install(review, { pollMs = 10_000 } = {}) {
  const url = review.config("ask").urls.questions; // annotate/leads/templatetags/leads_review.py
  const panel = review.panel("second-opinion", "Second opinion");
  panel.classList.add("ask");

  const intro = make("p", { class: "small muted" }, "Not sure? Ask a team lead about this clip. Only leads see it.");
  const form = make("form", { class: "ask-form", novalidate: true });
  const label = make("label", { for: "ask-question" }, "Your question");
  const question = make("textarea", {
    id: "ask-question",
    rows: 2,
    maxlength: MAX_QUESTION,
    placeholder: "e.g. what is the word at 0:02?",
    "aria-keyshortcuts": "Alt+Q",
  });
  const momentRow = make("label", { class: "ask-moment" });
  const moment = make("input", { type: "checkbox", id: "ask-moment" });
  const momentText = make("span", {}, "at the player's position");
  momentRow.append(moment, " ", momentText);
  const send = make("button", { type: "submit" }, "Ask a lead");
  const hint = make("span", { class: "small muted" }, " Enter sends");
  form.append(label, question, momentRow, send, hint);
  const list = make("ul", { class: "ask-list", "aria-live": "polite" });
  const earlier = make("ul", { class: "ask-list earlier", "aria-live": "polite" });
  const earlierTitle = make("p", { class: "small muted", hidden: true }, "Answers about earlier clips");
  panel.replaceChildren(intro, form, list, earlierTitle, earlier);

  let current = null;
  let questions = []; // newest first, as the server sends them
  const known = new Map(); // id -> answered_at, to announce new answers once
  let timer = null;
  let sending = false;

  function item(q) {
    const li = make("li", { "data-question": q.id, class: q.answer ? "answered" : "open" });
    const asked = make("p", { class: "ask-q" }, q.question);
    if (q.moment != null) asked.append(" ", make("span", { class: "chip" }, `at ${clock(q.moment)}`));
    li.append(asked);
    li.append(
      q.answer
        ? make("p", { class: "ask-a" }, `Lead: ${q.answer}`)
        : make("p", { class: "ask-a muted small" }, "Waiting for a lead…"),
    );
    return li;
  }

  function render() {
    const taskId = current ? current.task_id : null;
    list.replaceChildren(...questions.filter((q) => q.task_id === taskId).map(item));
    const others = questions.filter((q) => q.task_id !== taskId && q.answer).slice(0, 5);
    earlier.replaceChildren(...others.map(item));
    earlierTitle.hidden = others.length === 0;
  }

  function merge(incoming) {
    let fresh = null;
    for (const q of incoming) {
      const before = known.get(q.id);
      if (q.answered_at && before !== q.answered_at && before !== undefined) fresh = q;
      known.set(q.id, q.answered_at);
    }
    questions = incoming;
    render();
    if (fresh) review.status(`A lead answered “${fresh.question.slice(0, 60)}”: ${fresh.answer}`, "info");
  }

  async function poll() {
    clearTimeout(timer);
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) merge((await response.json()).questions || []);
    } catch {
      // offline for a moment: the next round tries again
    }
    const waiting = questions.some((q) => !q.answer);
    timer = setTimeout(poll, waiting ? pollMs : pollMs * 3);
  }

  async function ask() {
    const text = question.value.trim();
    if (!current || sending) return;
    if (!text) {
      review.status("Type your question first.", "error");
      question.focus();
      return;
    }
    sending = true;
    send.disabled = true;
    const body = {
      task_id: current.task_id,
      question: text,
      moment: moment.checked ? Math.round(review.player.currentTime() * 100) / 100 : null,
    };
    const { status, data } = await review.api.post(url, body);
    sending = false;
    send.disabled = false;
    if (status === 201) {
      known.set(data.id, data.answered_at);
      questions = [data, ...questions];
      question.value = "";
      moment.checked = false;
      render();
      review.status("Your question went to the team leads. Carry on: the answer shows here.", "ok");
      poll();
    } else {
      review.status(data.error || "The question was not sent. Try again.", "error");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask();
  });
  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.altKey && !event.isComposing) {
      event.preventDefault();
      ask();
    }
  });
  moment.addEventListener("change", () => {
    momentText.textContent = moment.checked
      ? `at ${clock(review.player.currentTime())} in the clip`
      : "at the player's position";
  });

  review.keys.register({
    combo: "Alt+Q",
    label: "Ask a lead for a second opinion",
    group: "Clip",
    run: () => question.focus(),
  });

  review.onClipChange((payload) => {
    current = payload; // questions about the clip we left move to "earlier clips" once answered
    moment.checked = false;
    momentText.textContent = "at the player's position";
    form.hidden = !payload;
    render();
  });

  poll();
}
