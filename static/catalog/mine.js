// Utterance mining for leads (/catalog/mine/): find a phrase in transcripts,
// choose matches, tag them at once with a kind and a catalog entry, undo a bulk
// tag. Talks to annotate/catalog/views.py; initial state from json_script.

import { t, tf, tn } from "../review/i18n.js";

const $ = (id) => document.getElementById(id);
const state = JSON.parse($("mine-state").textContent);
const page = { q: "", source: "all", number: 1, pages: 1, matches: [], entity: null };

function csrfToken() {
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

async function call(url, body) {
  const options = { credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.headers["X-CSRFToken"] = csrfToken();
    options.body = JSON.stringify(body);
  }
  try {
    const response = await fetch(url, options);
    const data = await response
      .json()
      .catch(() => ({ error: tf("the server answered %(status)s", { status: response.status }) }));
    return { status: response.status, data };
  } catch {
    return { status: 0, data: { error: t("no connection") } };
  }
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function status(text, kind = "") {
  const line = $("mine-status");
  line.textContent = text;
  line.dataset.kind = kind;
}

// --- search ------------------------------------------------------------------------

async function search(number = 1) {
  const params = new URLSearchParams({ q: page.q, source: page.source, page: String(number) });
  $("mine-count").textContent = t("Searching…");
  const { status: code, data } = await call(`${state.urls.search}?${params}`);
  if (code !== 200) {
    $("mine-count").textContent = tf("Not searched: %(error)s", { error: data.error });
    return;
  }
  page.number = data.page;
  page.pages = data.pages;
  page.matches = data.matches;
  $("mine-results").hidden = false;
  $("mine-count").textContent = tn("%(n)s match for “%(phrase)s”", "%(n)s matches for “%(phrase)s”", data.total, {
    n: data.total,
    phrase: data.phrase,
  });
  const newest = data.window.toLocaleString();
  $("mine-window").textContent = data.truncated
    ? tn(
        "Searched the newest %(n)s transcript of each kind — older ones were not searched.",
        "Searched the newest %(n)s transcripts of each kind — older ones were not searched.",
        data.window,
        { n: newest },
      )
    : tn(
        "Searched the newest %(n)s transcript of each kind.",
        "Searched the newest %(n)s transcripts of each kind.",
        data.window,
        { n: newest },
      );
  renderRows();
}

function renderRows() {
  const rows = page.matches.map((m, i) => {
    const tagged = m.tagged.map((span) =>
      el("span", {
        className: "chip",
        text: `${span.kind}: ${span.entity ? span.entity.name : span.not_in_catalog_name || "—"}`,
      }),
    );
    return el(
      "tr",
      { className: m.tagged.length ? "done" : "" },
      el("td", {}, el("input", { type: "checkbox", className: "pick", "data-index": String(i), "aria-label": t("Pick") })),
      el("td", { className: "small muted", text: m.source === "reviewed" ? t("reviewed") : t("machine") }),
      el("td", { className: "context" }, m.before, el("mark", { text: m.match }), m.after),
      el("td", {}, ...tagged),
    );
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "4", className: "muted", text: t("No matches.") })));
  $("mine-rows").replaceChildren(...rows);
  $("mine-all").checked = false;
  $("mine-page").textContent = tf("page %(number)s of %(pages)s", { number: page.number, pages: page.pages });
  $("mine-prev").disabled = page.number <= 1;
  $("mine-next").disabled = page.number >= page.pages;
  countChosen();
}

function chosen() {
  return [...document.querySelectorAll(".pick:checked")].map((box) => page.matches[Number(box.dataset.index)]);
}

function countChosen() {
  $("mine-chosen").textContent = String(chosen().length);
}

// --- the catalog entry -------------------------------------------------------------------

let entityTimer = 0;
async function findEntities() {
  const q = $("mine-entity-q").value.trim();
  if (!q) return $("mine-entities").replaceChildren();
  const params = new URLSearchParams({ q, kind: $("mine-kind").value, limit: "6" });
  const { status: code, data } = await call(`${state.urls.catalog}?${params}`);
  if (code !== 200 || $("mine-entity-q").value.trim() !== q) return;
  $("mine-entities").replaceChildren(
    ...data.results.map((r) =>
      el(
        "li",
        {
          role: "option",
          tabindex: "0",
          onclick: () => pickEntity(r),
          onkeydown: (event) => event.key === "Enter" && pickEntity(r),
        },
        el("strong", { text: r.name }),
        ` · ${r.kind_name} · ${tf("popularity %(popularity)s", { popularity: r.popularity })}`,
      ),
    ),
  );
}

function pickEntity(entity) {
  page.entity = entity;
  $("mine-entities").replaceChildren();
  $("mine-nic").checked = false;
  renderLink();
}

function renderLink() {
  const linkable = $("mine-kind").selectedOptions[0]?.dataset.linkable === "1";
  const line = $("mine-link");
  if (!linkable) line.textContent = t("This kind is not linked to the catalog.");
  else if ($("mine-nic").checked) line.textContent = tf("Not in catalog: “%(name)s”", { name: $("mine-nic-name").value.trim() });
  else if (page.entity) line.textContent = tf("Link: %(name)s (%(kind)s)", { name: page.entity.name, kind: page.entity.kind_name });
  else line.textContent = t("Choose a catalog entry, or mark it not in the catalog.");
}

// --- apply and undo -------------------------------------------------------------------------

async function apply(event) {
  event.preventDefault();
  const matches = chosen().map(({ source, id, start, end }) => ({ source, id, start, end }));
  if (!matches.length) return status(t("Choose at least one match."), "error");
  const linkable = $("mine-kind").selectedOptions[0]?.dataset.linkable === "1";
  const notInCatalog = $("mine-nic").checked;
  const body = {
    phrase: page.q,
    matches,
    kind: $("mine-kind").value,
    entity_id: linkable && !notInCatalog && page.entity ? page.entity.id : null,
    not_in_catalog_name: linkable && notInCatalog ? $("mine-nic-name").value.trim() : "",
  };
  status(t("Tagging…"));
  const { status: code, data } = await call(state.urls.apply, body);
  if (code !== 201) return status(tf("Not tagged: %(error)s", { error: data.error }), "error");
  const tagged = data.skipped
    ? tn(
        "Tagged %(n)s match, %(skipped)s skipped (already tagged).",
        "Tagged %(n)s matches, %(skipped)s skipped (already tagged).",
        data.created,
        { n: data.created, skipped: data.skipped },
      )
    : tn("Tagged %(n)s match.", "Tagged %(n)s matches.", data.created, { n: data.created });
  status(tagged, "ok");
  await Promise.all([search(page.number), loadBatches()]);
}

async function undo(batch) {
  const { status: code, data } = await call(state.urls.undo.replace("{batch_id}", String(batch.id)), {});
  if (code !== 200) return status(tf("Not undone: %(error)s", { error: data.error }), "error");
  status(tn("Undone: %(n)s span removed.", "Undone: %(n)s spans removed.", data.removed, { n: data.removed }), "ok");
  await loadBatches();
  if (page.q) await search(page.number);
}

function linkText(batch) {
  if (batch.entity) return batch.entity.name;
  return batch.not_in_catalog_name ? tf("not in catalog: %(name)s", { name: batch.not_in_catalog_name }) : "—";
}

async function loadBatches() {
  const { status: code, data } = await call(state.urls.batches);
  if (code !== 200) return;
  const rows = data.batches.map((b) =>
    el(
      "tr",
      { className: b.undone_at ? "undone" : "" },
      el("td", { text: b.phrase }),
      el("td", { text: b.kind }),
      el("td", { text: linkText(b) }),
      el("td", { className: "num", text: String(b.created) }),
      el("td", { text: b.by }),
      el("td", { className: "small", text: new Date(b.at).toLocaleString() }),
      el(
        "td",
        {},
        b.undone_at
          ? el("span", { className: "small muted", text: tf("undone by %(name)s", { name: b.undone_by }) })
          : el("button", { type: "button", onclick: () => undo(b) }, t("Undo")),
      ),
    ),
  );
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "7", className: "muted", text: t("None yet.") })));
  $("mine-batches").replaceChildren(...rows);
}

// --- wiring -------------------------------------------------------------------------------------

$("mine-search").addEventListener("submit", (event) => {
  event.preventDefault();
  page.q = $("mine-q").value.trim();
  page.source = $("mine-source").value;
  if (!$("mine-nic-name").value) $("mine-nic-name").value = page.q;
  search(1);
});
$("mine-prev").addEventListener("click", () => search(page.number - 1));
$("mine-next").addEventListener("click", () => search(page.number + 1));
$("mine-all").addEventListener("change", (event) => {
  for (const box of document.querySelectorAll(".pick")) box.checked = event.target.checked;
  countChosen();
});
$("mine-rows").addEventListener("change", countChosen);
$("mine-entity-q").addEventListener("input", () => {
  clearTimeout(entityTimer);
  entityTimer = setTimeout(findEntities, 150);
});
$("mine-kind").addEventListener("change", () => {
  page.entity = null;
  renderLink();
  findEntities();
});
$("mine-nic").addEventListener("change", renderLink);
$("mine-nic-name").addEventListener("input", renderLink);
$("mine-apply").addEventListener("submit", apply);
renderLink();
loadBatches();
