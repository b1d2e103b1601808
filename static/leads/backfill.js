// Backfills on a queue's page: poll each unfinished one's status and update its row.

const POLL_MS = 1000;

function update(row, data) {
  row.dataset.state = data.state;
  row.querySelector(".state").textContent = data.error ? `${data.state_label}: ${data.error}` : data.state_label;
  row.querySelector("progress").value = data.progress;
  row.querySelector(".added").textContent = String(data.added);
}

async function poll() {
  const rows = [...document.querySelectorAll("tr[data-backfill]")].filter(
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
