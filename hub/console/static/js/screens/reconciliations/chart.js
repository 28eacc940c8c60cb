// The report's chart: matched vs unmatched amounts per currency, drawn as
// inline SVG (no chart library), with a table of the same numbers beside it
// as its text alternative. Bars of one currency share a scale; currencies are
// not compared with each other (no exchange rates here).

import { h, uid } from "../../dom.js";
import { money, plural } from "./widgets.js";

// The SVG namespace is a name, not a place: nothing is fetched from it.
const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 300;
const BAR = 14;
const ROW = 40; // a label line and its bar
const HEAD = 24; // the currency's heading

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") el.textContent = value;
    else el.setAttribute(key, String(value));
  }
  el.append(...children);
  return el;
}

/** Rows {currency, matched, unmatched} (minor units) from a report, currencies sorted. */
export function chartRows(report) {
  const matched = (report.matched || {}).amount || {};
  const unmatched = (report.unmatched || {}).amount || {};
  const currencies = [...new Set([...Object.keys(matched), ...Object.keys(unmatched)])].sort();
  return currencies.map((currency) => ({
    currency, matched: matched[currency] || 0, unmatched: unmatched[currency] || 0,
  }));
}

function drawing(rows, describedBy) {
  const height = rows.length * (HEAD + 2 * ROW);
  const summary = rows.map((r) => `${r.currency.toUpperCase()}: matched ${money(r.matched, r.currency)}, `
    + `unmatched ${money(r.unmatched, r.currency)}`).join("; ");
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", class: "chart-svg",
    "aria-describedby": describedBy, focusable: "false" },
  svg("title", { text: `Matched and unmatched amounts. ${summary}.` }));
  let y = 0;
  for (const row of rows) {
    root.append(svg("text", { x: 0, y: y + 16, class: "chart-currency", text: row.currency.toUpperCase() }));
    y += HEAD;
    const scale = Math.max(Math.abs(row.matched), Math.abs(row.unmatched)) || 1;
    for (const [kind, label] of [["matched", "Matched"], ["unmatched", "Unmatched"]]) {
      const value = row[kind];
      // A non-zero amount always gets a visible sliver, however small next to the other.
      const width = value ? Math.max(2, Math.round((Math.abs(value) / scale) * WIDTH)) : 0;
      root.append(
        svg("text", { x: 0, y: y + 13, class: "chart-label", text: `${label} · ${money(value, row.currency)}` }),
        svg("rect", { x: 0, y: y + 18, width: WIDTH, height: BAR, rx: 3, class: "bar-track" }),
        svg("rect", { x: 0, y: y + 18, width, height: BAR, rx: 3, class: `bar bar-${kind}`,
          "data-currency": row.currency, "data-kind": kind, "data-amount": value }));
      y += ROW;
    }
  }
  return root;
}

/**
 * The chart and its table, or a sentence when the period had no payments.
 * `counts` (matched invoices, unmatched payments) go under the table.
 */
export function matchedChart(report) {
  const rows = chartRows(report);
  if (!rows.length) {
    return h("p", { class: "muted chart-empty", text: "No payments in this period: nothing to chart." });
  }
  const tableId = uid("chart-table");
  const table = h("table", { class: "jobs-table chart-table", id: tableId },
    h("caption", { text: "Matched and unmatched amounts per currency" }),
    h("thead", {}, h("tr", {}, ["Currency", "Matched", "Unmatched"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows.map((r) => h("tr", { dataset: { currency: r.currency } },
      h("th", { scope: "row", "data-label": "Currency", text: r.currency.toUpperCase() }),
      h("td", { class: "amount-matched", "data-label": "Matched", text: money(r.matched, r.currency) }),
      h("td", { class: "amount-unmatched", "data-label": "Unmatched", text: money(r.unmatched, r.currency) })))));
  const matchedCount = (report.matched || {}).count || 0;
  const unmatchedCount = (report.unmatched || {}).count || 0;
  return h("div", { class: "chart" },
    h("figure", { class: "chart-figure" }, drawing(rows, tableId),
      h("figcaption", { class: "muted", text: "Bars of one currency share a scale." })),
    h("div", { class: "chart-data" }, h("div", { class: "table-wrap" }, table),
      h("p", { class: "muted chart-counts", text: `${plural(matchedCount, "invoice")} paid in full; `
        + `${plural(unmatchedCount, "transaction")} matched no invoice.` })));
}
