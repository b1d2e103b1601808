// Exports: poll each unfinished export's status and update its progress bar, note, expiry and link.

const POLL_MS = 1000;

function update(row, data) {
  row.dataset.state = data.state;
  row.querySelector("progress").value = data.progress;
  row.querySelector(".state").textContent = data.state;
  row.querySelector(".note").textContent = data.note;
  row.querySelector(".expires").textContent = data.expires;
  row.querySelector(".clips").textContent = data.state === "done" ? String(data.clip_count) : `${data.done} / ${data.total}`;
  if (!data.download_url) {
    row.querySelector(".download").replaceChildren();
  } else if (!row.querySelector(".download a")) {
    const link = document.createElement("a");
    link.href = data.download_url;
    link.textContent = "Download zip";
    row.querySelector(".download").replaceChildren(link);
  }
}

async function poll() {
  const rows = [...document.querySelectorAll("tr[data-export]")].filter(
    (row) => row.dataset.state === "queued" || row.dataset.state === "running",
  );
  await Promise.all(
    rows.map(async (row) => {
      try {
        const response = await fetch(row.dataset.statusUrl, { headers: { Accept: "application/json" } });
        if (response.ok) update(row, await response.json());
      } catch {
        // try again next round
      }
    }),
  );
  if (rows.length) setTimeout(poll, POLL_MS);
}

poll();
