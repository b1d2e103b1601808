// The reviewer's care page: receipts refresh while their cases are open.
import { pollReceipts, renderReceipts } from "./receipts.js";

const url = JSON.parse(document.getElementById("receipts-url").textContent);
const tbody = document.getElementById("receipts");
pollReceipts((data) => renderReceipts(tbody, data.receipts), { url, ms: 5_000 });
