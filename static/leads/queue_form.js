// The queue form: as the lead edits the sampling rule, show how many clips of the
// last 7 days it would have matched and sampled.

import { t, tn } from "../review/i18n.js";

const form = document.getElementById("queue-form");
const preview = document.getElementById("preview");
let timer = null;
let latest = 0;

async function refresh() {
  const data = new FormData(form);
  const params = new URLSearchParams({
    locales: data.get("locales") || "",
    device_types: data.get("device_types") || "",
    sample_rate: data.get("sample_rate") || "0",
    days: "7",
  });
  const ticket = ++latest;
  let body;
  try {
    const response = await fetch(`${form.dataset.previewUrl}?${params}`, { headers: { Accept: "application/json" } });
    body = await response.json();
    if (!response.ok) {
      if (ticket === latest) preview.textContent = body.error || t("could not preview this rule");
      return;
    }
  } catch {
    return;
  }
  if (ticket !== latest) return;
  // The same words as the page's first preview (templates/leads/queue_form.html).
  const period = tn("the last %(days)s day", "the last %(days)s days", body.days, { days: body.days });
  const clips = tn("the %(recent)s clip", "the %(recent)s clips", body.recent, { recent: body.recent });
  preview.textContent = tn(
    "Of %(clips)s of %(period)s, %(matching)s matches this rule; at this rate about %(sampled)s would have been sampled.",
    "Of %(clips)s of %(period)s, %(matching)s match this rule; at this rate about %(sampled)s would have been sampled.",
    body.matching,
    { clips, period, matching: body.matching, sampled: body.sampled },
  );
}

for (const name of ["locales", "device_types", "sample_rate"]) {
  form.elements[name]?.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
}
