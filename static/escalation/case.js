// The case page: protective playback (quiet start, muffled by default), the
// transcript and the identity fetched only when asked (each fetch is audited),
// and a notice when the case changes elsewhere (live over ws/cases/).

import { LiveSocket } from "./alerts.js";
import { t as tr, tf as trf } from "../review/i18n.js";

const $ = (id) => document.getElementById(id);
const state = JSON.parse($("case-page-state").textContent);

// --- protective playback ---------------------------------------------------------------
const audio = $("case-audio");
if (audio) {
  audio.volume = state.start_volume;
  const muffled = $("muffled");
  muffled.addEventListener("change", () => {
    const at = audio.currentTime;
    const playing = !audio.paused;
    audio.src = muffled.checked ? state.audio_muffled : state.audio;
    audio.volume = Math.min(audio.volume, state.start_volume);
    audio.addEventListener(
      "loadedmetadata",
      () => {
        audio.currentTime = at;
        if (playing) audio.play();
      },
      { once: true },
    );
    audio.load();
  });
  for (const button of document.querySelectorAll("button.seek")) {
    button.addEventListener("click", () => {
      audio.currentTime = Math.max(0, Number(button.dataset.seconds) - 1);
      audio.play();
    });
  }
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  const data = await response.json().catch(() => ({ error: trf("the server answered %(status)s", { status: response.status }) }));
  if (!response.ok) throw new Error(data.error || trf("the server answered %(status)s", { status: response.status }));
  return data;
}

function para(label, text) {
  const p = document.createElement("p");
  const strong = document.createElement("strong");
  strong.textContent = `${label}: `;
  p.append(strong, text || "(none)");
  return p;
}

// --- transcript, on request ---------------------------------------------------------------
const showTranscript = $("show-transcript");
showTranscript.addEventListener("click", async () => {
  const box = $("transcript");
  if (!box.hidden) {
    box.hidden = true;
    box.replaceChildren();
    showTranscript.textContent = tr("Show the transcript");
    return;
  }
  try {
    const t = await getJson(state.transcript);
    box.replaceChildren(
      para(`Whisper (${t.whisper_model || "none"})`, t.whisper_text),
      para(tr("The assistant heard"), t.heard),
      para(tr("The assistant answered"), t.response),
      ...t.reviewer_drafts.map((text, i) => para(trf("Reviewer’s transcript so far (flag %(n)s)", { n: i + 1 }), text)),
    );
    box.hidden = false;
    showTranscript.textContent = tr("Hide the transcript");
  } catch (error) {
    box.replaceChildren(para(tr("Could not load the transcript"), error.message));
    box.hidden = false;
  }
});

// --- identity, on request, for the two officers of an approved unsealing ------------------------
const showIdentity = $("show-identity");
if (showIdentity) {
  showIdentity.addEventListener("click", async () => {
    const box = $("identity");
    if (!box.hidden) {
      box.hidden = true;
      box.replaceChildren();
      showIdentity.textContent = tr("Show the identity (logged)");
      return;
    }
    try {
      const who = await getJson(state.identity);
      const items = [
        [tr("Account id"), who.account_id],
        [tr("First name"), who.first_name],
        [tr("Device serial"), who.device_serial],
      ].flatMap(([label, value]) => {
        const dt = document.createElement("dt");
        dt.textContent = label;
        const dd = document.createElement("dd");
        dd.textContent = value;
        return [dt, dd];
      });
      box.replaceChildren(...items);
      box.hidden = false;
      showIdentity.textContent = tr("Hide the identity");
    } catch (error) {
      box.replaceChildren(para(tr("Refused"), error.message));
      box.hidden = false;
    }
  });
}

// --- live: tell the officer when someone else moved this case -----------------------------------
new LiveSocket(state.ws_path, {
  onMessage(msg) {
    if (msg.type === "case.updated" && msg.case && msg.case.id === state.case_id) $("changed").hidden = false;
  },
  onState() {},
});
