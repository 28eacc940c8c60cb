// A reconciliation report (the `report` of GET /payments/reconciliations/{id}):
// the matched/unmatched chart, the headline counts, totals per currency, and
// the lists of what did not match. The hub bounds each list
// (STRIPE_REPORT_LIST_LIMIT); when it cut one short, the screen says so.

import { h, timeEl } from "../../dom.js";
import { matchedChart } from "./chart.js";
import { money, plural } from "./widgets.js";

const dash = () => h("span", { class: "muted", text: "—" });
const invoiceAmount = (key) => (i) => money(i[key], i.currency);

const INVOICE_COLUMNS = [
  ["Invoice", (i) => i.number], ["Customer", (i) => i.customer || dash()],
  ["Amount", invoiceAmount("amount")], ["Received", invoiceAmount("received")],
  ["Refunded", invoiceAmount("refunded")], ["Payments", (i) => String(i.payments)],
];
const TRANSACTION_COLUMNS = [
  ["Transaction", (t) => t.id], ["Type", (t) => t.type], ["Amount", (t) => money(t.amount, t.currency)],
  ["Customer", (t) => t.customer || dash()],
  ["Date", (t) => timeEl(new Date(t.created * 1000).toISOString())],
];
const CURRENCY_COLUMNS = [
  ["Invoice", (m) => m.invoice.number], ["Invoice amount", (m) => money(m.invoice.amount, m.invoice.currency)],
  ["Payment", (m) => money(m.transaction.amount, m.transaction.currency)],
  ["Transaction", (m) => m.transaction.id],
];
const PAYOUT_COLUMNS = [
  ["Payout", (p) => p.id], ["Amount", (p) => money(p.amount, p.currency)], ["Status", (p) => p.status],
  ["Failure", (p) => p.failure_code || dash()],
];

// [report key, heading, what the list's total is, columns]
export const LISTS = [
  ["unmatched", "Transactions without an invoice", "Total", TRANSACTION_COLUMNS],
  ["unpaid", "Unpaid invoices", "Due", INVOICE_COLUMNS],
  ["partly_paid", "Partly paid invoices", "Outstanding", INVOICE_COLUMNS],
  ["amount_mismatches", "Paid more than the invoice", "Excess", INVOICE_COLUMNS],
  ["duplicates", "Paid more than once", "Excess", INVOICE_COLUMNS],
  ["currency_mismatches", "Paid in another currency", "Total", CURRENCY_COLUMNS],
];

function amounts(byCurrency) {
  const parts = Object.entries(byCurrency || {}).sort().map(([c, v]) => money(v, c));
  return parts.length ? parts.join(", ") : "—";
}

function listTable(title, columns, items) {
  return h("div", { class: "table-wrap" }, h("table", { class: "jobs-table mismatch-table" },
    h("caption", { class: "sr-only", text: title }),
    h("thead", {}, h("tr", {}, columns.map(([name]) => h("th", { scope: "col", text: name })))),
    h("tbody", {}, items.map((item) => h("tr", {}, columns.map(([name, cell], n) =>
      h(n === 0 ? "th" : "td", { scope: n === 0 ? "row" : null, "data-label": name }, cell(item))))))));
}

function listSection(kind, title, totalLabel, columns, list) {
  const id = `list-${kind}`;
  return h("section", { class: "mismatch-list", "aria-labelledby": id, dataset: { kind } },
    h("h3", { id }, `${title} `, h("span", { class: "count", text: `(${list.count})` })),
    h("p", { class: "muted", text: `${totalLabel}: ${amounts(list.amount)}` }),
    listTable(title, columns, list.items || []),
    list.truncated ? h("p", { class: "muted truncated",
      text: `Showing the first ${list.items.length} of ${list.count}.` }) : null);
}

function counts(report) {
  const m = report.matched || {};
  const payouts = report.payouts || {};
  const rows = [
    ["Transactions read", String(report.transactions ?? 0)],
    ["Invoices paid in full", `${m.count || 0} (${plural(m.payments_by_id || 0, "payment")} by id, `
      + `${m.payments_by_amount_date || 0} by amount and date)`],
    ...LISTS.map(([kind, title]) => [title, String((report[kind] || {}).count || 0)]),
    ["Payouts", `${payouts.count || 0} (${amounts(payouts.amount)})`],
  ];
  if (report.skipped) rows.push(["Skipped (not this tenant's)", String(report.skipped)]);
  return h("dl", { class: "fields report-counts" },
    rows.flatMap(([name, value]) => [h("dt", { text: name }), h("dd", { text: value })]));
}

function totals(report) {
  const entries = Object.entries(report.totals || {}).sort();
  if (!entries.length) return null;
  const cols = [["Gross", "gross"], ["Fees", "fees"], ["Refunds", "refunds"], ["Net", "net"], ["Paid out", "paid_out"]];
  return h("div", { class: "table-wrap" }, h("table", { class: "jobs-table totals-table" },
    h("caption", { class: "sr-only", text: "Totals per currency" }),
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Currency" }),
      cols.map(([name]) => h("th", { scope: "col", text: name })))),
    h("tbody", {}, entries.map(([currency, t]) => h("tr", {},
      h("th", { scope: "row", "data-label": "Currency", text: currency.toUpperCase() }),
      cols.map(([name, key]) => h("td", { "data-label": name, text: money(t[key] || 0, currency) })))))));
}

/** The report's sections (cards), ready to append. */
export function reportSections(report) {
  const lists = LISTS.filter(([kind]) => (report[kind] || {}).count)
    .map(([kind, title, total, columns]) => listSection(kind, title, total, columns, report[kind]));
  const failed = (report.payouts || {}).failed;
  if (failed && failed.count) lists.push(listSection("failed_payouts", "Failed payouts", "Total", PAYOUT_COLUMNS, failed));
  return [
    h("section", { class: "card report-chart", "aria-labelledby": "chart-title" },
      h("h2", { id: "chart-title", text: "Matched and unmatched" }), matchedChart(report)),
    h("section", { class: "card", "aria-labelledby": "counts-title" },
      h("h2", { id: "counts-title", text: "Summary" }), counts(report),
      h("h3", { text: "Totals" }), totals(report) || h("p", { class: "muted", text: "No transactions." })),
    h("section", { class: "card mismatches", "aria-labelledby": "mismatches-title" },
      h("h2", { id: "mismatches-title", text: "Mismatches" }),
      lists.length ? lists : h("p", { class: "muted", text: "Nothing to look at: every payment found its invoice." })),
  ];
}
