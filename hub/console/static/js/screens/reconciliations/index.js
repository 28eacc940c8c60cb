// Reconciliations (Stripe): run one for a period of whole UTC days, and the
// list of past runs, kept current from job.updated events of
// `payments.reconcile` jobs. A run opens its own screen (detail.js) to watch
// it and read the report. Without Stripe configured the hub answers 503 and
// the screen shows its message instead.

import { api, query } from "../../api.js";
import { h, randomId, replaceChildren, showPage, timeEl } from "../../dom.js";
import { FINISHED } from "../../follow.js";
import { clearErrors, field, formAlert, showError } from "../../forms.js";
import { debounce, liveScreen } from "../../live.js";
import { navigate } from "../../router.js";
import { renderReconciliation } from "./detail.js";
import { lastMonth, nextDay, periodText, recStatusBadge, resultText, triggerText } from "./widgets.js";

const PER_PAGE = 20;
const JOB_TYPE = "payments.reconcile";

function runForm(ctx) {
  const [first, last] = lastMonth();
  const alert = formAlert();
  const from = field({ path: "from", label: "First day", type: "date", required: true, attrs: { value: first } });
  const to = field({ path: "to", label: "Last day", type: "date", required: true, attrs: { value: last },
    hint: "Whole days in UTC; the last day is included." });
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Run reconciliation" });
  const form = h("form", { class: "rec-form", novalidate: true, "aria-labelledby": "run-title" },
    alert, from, to, h("div", { class: "form-actions" }, button));
  // One Idempotency-Key per distinct request, as on the jobs screen: a retry
  // after a timeout does not run the period twice.
  let lastAttempt = null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const errors = {};
    if (!from.control.value) errors.from = ["Required."];
    if (!to.control.value) errors.to = ["Required."];
    if (Object.keys(errors).length) {
      showError(form, { message: "Some fields need attention." }, errors);
      return;
    }
    const body = { from: `${from.control.value}T00:00:00Z`, to: `${nextDay(to.control.value)}T00:00:00Z` };
    const text = JSON.stringify(body);
    if (!lastAttempt || lastAttempt.text !== text) lastAttempt = { text, key: randomId() };
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const envelope = await api.post("/payments/reconciliations", body,
        { headers: { "Idempotency-Key": lastAttempt.key } });
      ctx.notify(envelope.message);
      navigate(`reconciliations/${encodeURIComponent(envelope.data.reconciliation_id)}`);
    } catch (err) {
      if (err.status >= 400 && err.status < 500) lastAttempt = null;
      showError(form, err);
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}

async function renderReconciliations(main, _params, ctx) {
  const state = { page: 1, pages: 1 };
  const alert = formAlert();
  const tbody = h("tbody");
  const summary = h("p", { class: "muted list-summary", "aria-live": "polite" });
  const empty = h("p", { class: "muted empty", text: "No reconciliations yet.", hidden: true });
  const prev = h("button", { type: "button", class: "btn", text: "Previous page", onclick: () => go(-1) });
  const next = h("button", { type: "button", class: "btn", text: "Next page", onclick: () => go(1) });
  const pager = h("nav", { class: "pager", "aria-label": "Reconciliation pages" }, prev, next);
  const table = h("table", { class: "jobs-table recs-table" },
    h("caption", { class: "sr-only", text: "Reconciliations, newest first" }),
    h("thead", {}, h("tr", {},
      ["Period", "Status", "Result", "Started by", "Created"].map((t) => h("th", { scope: "col", text: t })))),
    tbody);
  const layout = h("div", { class: "jobs-layout" },
    h("section", { class: "card", "aria-labelledby": "run-title" },
      h("h2", { id: "run-title", text: "Run a reconciliation" }),
      h("p", { class: "hint run-hint", text: "Matches the period's Stripe payments to your invoices." }),
      runForm(ctx)),
    h("section", { class: "card", "aria-labelledby": "recs-title" },
      h("h2", { id: "recs-title", text: "Past reconciliations" }),
      summary, h("div", { class: "table-wrap" }, table), empty, pager));
  main.append(h("h1", { text: "Reconciliations" }), alert, layout);

  function buildRow(rec) {
    const period = periodText(rec.from, rec.to);
    return h("tr", { dataset: { recId: rec.id, jobId: rec.job_id || "" } },
      h("th", { scope: "row", "data-label": "Period" },
        h("a", { href: `#/reconciliations/${encodeURIComponent(rec.id)}`, class: "rec-link", text: period })),
      h("td", { "data-label": "Status", class: "rec-status-cell" }, recStatusBadge(rec.status)),
      h("td", { "data-label": "Result", class: "job-message", text: resultText(rec.report)
        || (rec.error && rec.error.message) || (rec.job && rec.job.message) || "" }),
      h("td", { "data-label": "Started by", text: triggerText(rec.trigger) }),
      h("td", { "data-label": "Created" }, timeEl(rec.created_at)));
  }

  async function load() {
    try {
      const envelope = await api.get(`/payments/reconciliations${query({ page: state.page, per_page: PER_PAGE })}`);
      const p = envelope.meta.pagination || {};
      state.pages = Math.max(1, p.pages || 1);
      replaceChildren(tbody, envelope.data.map(buildRow));
      summary.textContent = `${p.total || 0} reconciliation${p.total === 1 ? "" : "s"} · page ${state.page} of ${state.pages}`;
      alert.hidden = true;
      layout.hidden = false;
    } catch (err) {
      replaceChildren(alert, h("p", { text: err.message }));
      alert.hidden = false;
      // 503: Stripe is not configured on this hub; there is nothing to run or list.
      layout.hidden = err.status === 503;
    }
    showPage({ prev, next, pager, empty, table }, state.page, state.pages, tbody.children.length);
  }

  function go(delta) {
    state.page = Math.min(Math.max(1, state.page + delta), state.pages);
    load();
  }

  // A run's status moves with its job; a finished or unknown run (the nightly
  // one, another user's) re-reads the page, at most once per burst of events.
  const loadSoon = debounce(load, 300);
  function onJobUpdated(event) {
    if (!event || event.type !== JOB_TYPE) return;
    const row = tbody.querySelector(`tr[data-job-id="${CSS.escape(event.id)}"]`);
    if (row && !FINISHED.has(event.status)) {
      replaceChildren(row.querySelector(".rec-status-cell"), recStatusBadge(event.status));
    } else if (row || (event.status === "queued" && state.page === 1)) {
      loadSoon();
    }
  }

  const stopLive = liveScreen(onJobUpdated, load);
  await load();
  return () => {
    loadSoon.cancel();
    stopLive();
  };
}

export default {
  id: "reconciliations",
  nav: [{ label: "Reconciliations", href: "#/reconciliations" }],
  routes: [
    { path: /^reconciliations$/, title: "Reconciliations", render: renderReconciliations },
    { path: /^reconciliations\/([0-9a-fA-F-]{36})$/, title: "Reconciliation", render: renderReconciliation },
  ],
};
