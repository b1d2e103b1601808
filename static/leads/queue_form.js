// The queue form: as the lead edits the sampling rule, show how many clips of the
// last 7 days it would have matched and sampled.

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
      if (ticket === latest) preview.textContent = body.error || "could not preview this rule";
      return;
    }
  } catch {
    return;
  }
  if (ticket !== latest) return;
  preview.textContent =
    `Of the ${body.recent} clips of the last ${body.days} days, ${body.matching} match this rule; ` +
    `at this rate about ${body.sampled} would have been sampled.`;
}

for (const name of ["locales", "device_types", "sample_rate"]) {
  form.elements[name]?.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
}
