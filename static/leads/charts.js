// Small inline-SVG charts drawn from JSON: no charting library. Text goes in as
// text nodes, never as markup, so names in the data cannot inject anything.

import { t, tf } from "../review/i18n.js";

const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/**
 * Horizontal bars: items = [{label, value}], value null = no data.
 * options: {max, format(value) -> string, width}
 */
export function barChart(container, items, options = {}) {
  const format = options.format || ((v) => String(v));
  const width = options.width || 420;
  const row = 22;
  const labelWidth = 130;
  const valueWidth = 56;
  const height = Math.max(row, items.length * row) + 4;
  const max = options.max ?? Math.max(1e-9, ...items.map((i) => i.value ?? 0));
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", class: "bar-chart" });
  const barSpace = width - labelWidth - valueWidth;
  items.forEach((item, i) => {
    const y = i * row + 2;
    svg.append(el("text", { x: labelWidth - 6, y: y + 15, "text-anchor": "end", class: "label" }, item.label));
    const w = item.value == null ? 0 : Math.max(1, (item.value / max) * barSpace);
    svg.append(el("rect", { x: labelWidth, y: y + 3, width: w, height: row - 8, rx: 2, class: "bar" }));
    svg.append(
      el("text", { x: labelWidth + w + 4, y: y + 15, class: "value" }, item.value == null ? "–" : format(item.value)),
    );
  });
  if (!items.length) svg.append(el("text", { x: 4, y: 15, class: "label" }, t("no data yet")));
  container.replaceChildren(svg);
  return svg;
}

/** Vertical columns for a time series: points = [{label, value}] (e.g. 24 hours). */
export function columnChart(container, points, options = {}) {
  const width = options.width || 480;
  const height = options.height || 140;
  const bottom = 18;
  const max = Math.max(1, ...points.map((p) => p.value));
  const step = width / Math.max(1, points.length);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", class: "column-chart" });
  points.forEach((point, i) => {
    const h = ((height - bottom - 12) * point.value) / max;
    const x = i * step + 1;
    const rect = el("rect", { x, y: height - bottom - h, width: Math.max(1, step - 2), height: h, class: "bar" });
    rect.append(el("title", {}, `${point.label}: ${point.value}`));
    svg.append(rect);
    const last = i === points.length - 1;
    if (i % 6 === 0 || last) {
      // The first and last labels hug the edges, so none is cut off.
      const [lx, anchor] = i === 0 ? [x, "start"] : last ? [x + step - 2, "end"] : [x + step / 2, "middle"];
      svg.append(el("text", { x: lx, y: height - 4, "text-anchor": anchor, class: "label" }, point.label));
    }
  });
  svg.append(el("text", { x: 2, y: 10, class: "label" }, tf("max %(max)s", { max })));
  container.replaceChildren(svg);
  return svg;
}
