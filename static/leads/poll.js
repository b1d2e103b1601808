// Rows of unfinished work (exports, backfills): poll each one's status URL every second until it
// is done or failed, and hand the answer to `update(row, data)`. A failed fetch tries again.

const POLL_MS = 1000;
const UNFINISHED = new Set(["queued", "running"]);

export function pollRows(selector, update) {
  async function poll() {
    const rows = [...document.querySelectorAll(selector)].filter((row) => UNFINISHED.has(row.dataset.state));
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
}
