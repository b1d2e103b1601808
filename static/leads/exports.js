// Exports: poll each unfinished export's status and update its progress bar, note, expiry and link.

import { t } from "../review/i18n.js";
import { pollRows } from "./poll.js";

function update(row, data) {
  row.dataset.state = data.state;
  row.querySelector("progress").value = data.progress;
  row.querySelector(".state").textContent = data.state_label;
  row.querySelector(".note").textContent = data.note;
  row.querySelector(".expires").textContent = data.expires;
  row.querySelector(".clips").textContent = data.state === "done" ? String(data.clip_count) : `${data.done} / ${data.total}`;
  if (!data.download_url) {
    row.querySelector(".download").replaceChildren();
  } else if (!row.querySelector(".download a")) {
    const link = document.createElement("a");
    link.href = data.download_url;
    link.textContent = t("Download zip");
    row.querySelector(".download").replaceChildren(link);
  }
}

pollRows("tr[data-export]", update);
