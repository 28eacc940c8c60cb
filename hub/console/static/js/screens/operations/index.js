// Staff only: the job ledger across tenants (GET/POST /operations/...). One
// filter form drives the job search and the bulk actions; failures grouped by
// cause and stuck jobs sit below. A bulk retry or cancel always shows the dry
// run's count first and sends that count back, so the hub refuses (409) if the
// set changed before the operator confirmed.

import { api } from "../../api.js";
import { h, replaceChildren, timeEl } from "../../dom.js";
import { field, formAlert } from "../../forms.js";
import { actionButton, listCard } from "../../lists.js";

const STATUSES = ["", "queued", "running", "retrying", "succeeded", "failed", "cancelled"];
const FILTERS = [
  { path: "tenant_id", label: "Tenant id", hint: "One tenant's jobs (its id)" },
  { path: "type", label: "Job type", hint: "e.g. email.send" },
  { path: "error_code", label: "Error code", hint: "e.g. SMTP_REJECTED" },
  { path: "payload", label: "Payload", hint: "A key the payload has, or key=value" },
];

const short = (id) => (id ? id.slice(0, 8) : "");

function jobRow(job) {
  return h("tr", { dataset: { opsJobId: job.id } },
    h("th", { scope: "row", "data-label": "Type" },
      h("a", { href: `#/jobs/${job.id}`, text: job.type }),
      h("span", { class: "muted job-id", text: job.id })),
    h("td", { "data-label": "Status", class: "ops-status", text: job.status }),
    h("td", { "data-label": "Tenant", title: job.tenant_id, text: short(job.tenant_id) }),
    h("td", { "data-label": "Error", class: "ops-error", text: job.error ? job.error.code : "" }),
    h("td", { "data-label": "Created" }, timeEl(job.created_at)),
    h("td", { class: "actions-cell" }));
}

function groupRow(group, showGroup) {
  return h("tr", { dataset: { opsGroup: `${group.type} ${group.error_code}` } },
    h("th", { scope: "row", "data-label": "Type", text: group.type }),
    h("td", { "data-label": "Error code", text: group.error_code }),
    h("td", { "data-label": "Jobs", class: "ops-count", text: String(group.count) }),
    h("td", { "data-label": "Tenants", text: String(group.tenants) }),
    h("td", { "data-label": "Last failed" }, group.last_failed_at ? timeEl(group.last_failed_at) : ""),
    h("td", { class: "actions-cell" }, h("button", { type: "button", class: "btn btn-small",
      "aria-label": `Show ${group.type} jobs failed with ${group.error_code}`, text: "Show",
      onclick: () => showGroup(group) })));
}

function stuckRow(item) {
  const job = item.job;
  return h("tr", { dataset: { opsStuckId: job.id } },
    h("th", { scope: "row", "data-label": "Type" }, h("a", { href: `#/jobs/${job.id}`, text: job.type }),
      h("span", { class: "muted job-id", text: job.id })),
    h("td", { "data-label": "Why", text: item.reason === "lease_expired" ? "running past its lease"
      : "sent, never started" }),
    h("td", { "data-label": "For", text: item.stuck_seconds == null ? "" : `${Math.round(item.stuck_seconds)} s` }),
    h("td", { "data-label": "Worker", text: job.worker || "" }),
    h("td", { class: "actions-cell" }));
}

async function renderOperations(main) {
  const fields = FILTERS.map((f) => field({ ...f, attrs: { autocomplete: "off", spellcheck: "false",
    maxlength: f.path === "payload" ? 321 : 64 } }));
  const status = field({ path: "status", label: "Status", control: "select",
    options: STATUSES.map((s) => ({ value: s, label: s || "any" })) });
  const all = [...fields, status];
  const values = () => Object.fromEntries(all.map((f) => [f.control.name, f.control.value.trim()])
    .filter(([, v]) => v));
  const apply = h("button", { type: "submit", class: "btn", text: "Search" });
  const form = h("form", { class: "filters ops-filters", "aria-label": "Filter jobs" },
    all, h("div", { class: "form-actions" }, apply));

  const jobs = listCard({ id: "ops-jobs", title: "Jobs", caption: "Jobs of every tenant, newest first",
    columns: ["Type", "Status", "Tenant", "Error", "Created"], emptyText: "No jobs match.", noun: "job",
    path: "/operations/jobs", perPage: 25, paged: true, buildRow: jobRow, params: values });
  const groups = listCard({ id: "ops-failed", title: "Failures by cause",
    caption: "Failed jobs grouped by type and error code", columns: ["Type", "Error code", "Jobs",
      "Tenants", "Last failed"], emptyText: "No failed jobs.", noun: "group", path: "/operations/failed-jobs",
    buildRow: (g) => groupRow(g, showGroup) });
  const stuck = listCard({ id: "ops-stuck", title: "Stuck jobs", caption: "Jobs that should be running",
    columns: ["Type", "Why", "For", "Worker"], emptyText: "Nothing is stuck.", noun: "stuck job",
    path: "/operations/stuck-jobs", perPage: 25, paged: true, buildRow: stuckRow });

  // Bulk actions: dry run → count shown → confirm with that count.
  const alert = formAlert();
  const outcome = h("div", { class: "ops-bulk-outcome", "aria-live": "polite" });
  const bulkFilter = () => {
    const { status: s, ...rest } = values();
    return s ? { ...rest, status: [s] } : rest;
  };
  const showFailure = (err) => {
    replaceChildren(alert, h("p", { text: err.message }));
    alert.hidden = false;
  };
  const reloadAll = () => Promise.all([jobs.load(), groups.load(), stuck.load()]);
  function bulkButton(action, text) {
    return actionButton({ text, label: `${text} the jobs the filter matches`, onError: showFailure,
      run: async () => {
        alert.hidden = true;
        const filter = bulkFilter();
        const dry = (await api.post(`/operations/jobs/${action}`, { filter })).data;
        const verb = action === "retry" ? "Retry" : "Cancel";
        if (!dry.selected) {
          replaceChildren(outcome, h("p", { text: `No jobs to ${action}: ${dry.matched} match.` }));
          return;
        }
        const more = dry.matched > dry.selected ? ` (the oldest ${dry.selected} of ${dry.matched}; at most ${dry.max} per run)` : "";
        const confirmRun = actionButton({ text: `${verb} ${dry.selected} jobs`, cls: "btn-primary",
          label: `${verb} ${dry.selected} jobs now`, onError: showFailure, run: async () => {
            const done = (await api.post(`/operations/jobs/${action}`,
              { filter, dry_run: false, expected: dry.selected })).data;
            replaceChildren(outcome, h("p", { text: `${done.done} jobs ${action === "retry" ? "retried" : "cancelled"}`
              + (done.skipped ? `, ${done.skipped} skipped (changed meanwhile).` : ".") }));
            await reloadAll();
          } });
        replaceChildren(outcome, h("p", { text: `${dry.selected} jobs would be ${action === "retry" ? "retried" : "cancelled"}${more}.` }),
          confirmRun);
        confirmRun.focus();
      } });
  }
  const bulk = h("section", { class: "card", "aria-labelledby": "ops-bulk-title" },
    h("h2", { id: "ops-bulk-title", text: "Act on the filter" }),
    h("p", { class: "muted", text: "Retry takes failed and cancelled jobs, cancel takes queued, retrying and "
      + "running ones. You see the count before anything changes; each job is audited in its tenant." }),
    alert, h("div", { class: "form-actions" }, bulkButton("retry", "Retry…"), bulkButton("cancel", "Cancel…")),
    outcome);

  function showGroup(group) {
    for (const f of all) f.control.value = "";
    fields.find((f) => f.control.name === "type").control.value = group.type;
    if (group.error_code !== "-") fields.find((f) => f.control.name === "error_code").control.value = group.error_code;
    status.control.value = "failed";
    jobs.load({ first: true });
    form.scrollIntoView({ block: "start" });
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    replaceChildren(outcome);
    jobs.load({ first: true });
  });

  main.append(h("h1", { text: "Operations" }), h("section", { class: "card" }, form), bulk,
    jobs.section, groups.section, stuck.section);
  await reloadAll();
}

export default {
  id: "operations",
  visible: (ctx) => Boolean(ctx.user.is_staff),
  nav: [{ label: "Operations", href: "#/operations" }],
  routes: [{ path: /^operations$/, title: "Operations", render: renderOperations }],
};
