// Pieces shared by the reconciliation screens: money in minor units, periods
// in UTC days, and the one-line result of a report.

import { h } from "../../dom.js";

const DAY = 86_400_000;

/**
 * An amount in minor units (what Stripe and the hub store: cents) in the
 * reader's locale, e.g. 123456 "eur" → "€1,234.56". The number of decimals is
 * the currency's (Intl's ISO 4217 data: JPY has none).
 */
export function money(minor, currency) {
  const code = String(currency || "").toUpperCase();
  let format;
  try {
    format = new Intl.NumberFormat(undefined, { style: "currency", currency: code });
  } catch {
    return `${minor} ${code}`; // not a currency Intl knows: the raw minor units
  }
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(Number(minor) / 10 ** digits);
}

/** "2026-10-01" of a Date, in UTC. */
export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

/** The day after "YYYY-MM-DD" (an exclusive end), as "YYYY-MM-DD". */
export function nextDay(day) {
  return isoDay(new Date(Date.parse(`${day}T00:00:00Z`) + DAY));
}

/** Last calendar month in UTC, as [first day, last day]. */
export function lastMonth(now = new Date()) {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) - DAY);
  return [isoDay(first), isoDay(last)];
}

function utcDate(ms) {
  return new Date(ms).toLocaleDateString(undefined, { timeZone: "UTC", dateStyle: "medium" });
}

/**
 * A period as people say it: whole UTC days as "1 Oct 2026 – 31 Oct 2026"
 * (the API's `to` is exclusive, so the last day is the one before it);
 * anything else as the two instants in the reader's time zone.
 */
export function periodText(from, to) {
  const start = Date.parse(from);
  const end = Date.parse(to);
  if (Number.isNaN(start) || Number.isNaN(end)) return `${from} – ${to}`;
  if (start % DAY === 0 && end % DAY === 0) {
    const last = end - DAY;
    return last <= start ? `${utcDate(start)} (UTC)` : `${utcDate(start)} – ${utcDate(last)} (UTC)`;
  }
  const opts = { dateStyle: "medium", timeStyle: "short" };
  return `${new Date(start).toLocaleString(undefined, opts)} – ${new Date(end).toLocaleString(undefined, opts)}`;
}

/** "1 invoice", "3 invoices". */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export const ISSUE_KINDS = ["unmatched", "unpaid", "partly_paid", "amount_mismatches",
  "currency_mismatches", "duplicates"];

/** "20 matched · 7 to look at", or null before there is a report. */
export function resultText(report) {
  if (!report) return null;
  const issues = ISSUE_KINDS.reduce((sum, kind) => sum + ((report[kind] || {}).count || 0), 0);
  return `${(report.matched || {}).count || 0} matched · ${issues} to look at`;
}

const TRIGGERS = { api: "you (API or console)", nightly: "the nightly schedule", payout: "a Stripe payout",
  job: "a payments.reconcile job" };

/** Who or what started a run, from its `trigger`. */
export function triggerText(trigger) {
  return TRIGGERS[trigger] || trigger;
}

export function recStatusBadge(status) {
  return h("span", { class: `status status-${status} rec-status`, text: status });
}
