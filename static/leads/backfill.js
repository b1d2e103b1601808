// Backfills on a queue's page: poll each unfinished one's status and update its row.

import { pollRows } from "./poll.js";

function update(row, data) {
  row.dataset.state = data.state;
  row.querySelector(".state").textContent = data.error ? `${data.state_label}: ${data.error}` : data.state_label;
  row.querySelector("progress").value = data.progress;
  row.querySelector(".added").textContent = String(data.added);
}

pollRows("tr[data-backfill]", update);
