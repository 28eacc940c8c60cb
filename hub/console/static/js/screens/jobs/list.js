// The jobs screen: the submit form and a live list of the tenant's jobs.
//
// The list is fetched once (GET /jobs) and then kept current from job.updated
// socket events, without polling. A queued event for a job not on the list
// (someone else in the tenant started it) fetches that one job once and adds
// it. After a socket reconnect the list is fetched again, since events sent
// while offline are lost.

import { api, query } from "../../api.js";
import { h, replaceChildren, showPage, timeEl } from "../../dom.js";
import { field, formAlert } from "../../forms.js";
import { liveScreen } from "../../live.js";
import { batchForm } from "./batch.js";
import { submitForm } from "./submit.js";
import { isNewer, jobActions, jobLabel, progressBar, setProgress, statusBadge } from "./widgets.js";

const PER_PAGE = 20;
const STATUSES = ["queued", "running", "retrying", "succeeded", "failed", "cancelled"];

export async function renderJobs(main, _params, ctx) {
  const state = { page: 1, pages: 1, total: 0, status: "" };
  const rows = new Map(); // job id -> {job, tr, cells}
  const ignored = new Set(); // ids of other tenants' jobs (staff see every tenant's events)
  const fetching = new Set();
  let submitting = 0;
  let held = []; // events of unknown jobs that arrived while a POST /jobs was in flight

  const types = (await api.get("/jobs/types")).data;

  const listAlert = formAlert();
  const tbody = h("tbody");
  const empty = h("p", { class: "muted empty", text: "No jobs yet.", hidden: true });
  const summary = h("p", { class: "muted list-summary", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "btn", text: "Previous page", onclick: () => go(-1) });
  const next = h("button", { type: "button", class: "btn", text: "Next page", onclick: () => go(1) });
  const pager = h("nav", { class: "pager", "aria-label": "Job pages" }, prev, next);
  const statusFilter = field({ path: "status", label: "Status", control: "select",
    options: [{ value: "", label: "All" }, ...STATUSES.map((s) => ({ value: s, label: s }))] });
  statusFilter.control.addEventListener("change", () => {
    state.status = statusFilter.control.value;
    state.page = 1;
    load();
  });

  const table = h("table", { class: "jobs-table" },
    h("caption", { class: "sr-only", text: "Jobs, newest first" }),
    h("thead", {}, h("tr", {},
      ["Job", "Status", "Progress", "Message", "Created"].map((t) => h("th", { scope: "col", text: t })),
      h("th", { scope: "col" }, h("span", { class: "sr-only", text: "Actions" })))),
    tbody);

  main.append(
    h("h1", { text: "Jobs" }),
    h("div", { class: "jobs-layout" },
      h("section", { class: "card new-job", "aria-labelledby": "new-job-title" },
        h("h2", { id: "new-job-title", text: "New job" }),
        submitForm({
          types,
          onSubmitting: (busy) => {
            submitting += busy ? 1 : -1;
            if (!submitting) releaseHeld();
          },
          onCreated: (job, message) => {
            ctx.notify(message || "Job queued.");
            upsert(job, { isNew: true });
            // At 360 px the list is below the form: bring the new row to the reader.
            const row = rows.get(job.id);
            if (row) row.tr.scrollIntoView({ block: "nearest" });
          },
        }),
        h("h2", { id: "batch-title", text: "Many jobs" }),
        batchForm({
          onSubmitting: (busy) => {
            submitting += busy ? 1 : -1;
            if (!submitting) releaseHeld();
          },
          onCreated: (jobs, message) => {
            ctx.notify(message || `${jobs.length} jobs queued.`);
            for (const job of jobs) upsert(job, { isNew: true });
          },
        })),
      h("section", { class: "card job-list", "aria-labelledby": "job-list-title" },
        h("div", { class: "list-head" },
          h("h2", { id: "job-list-title", text: "Recent jobs" }),
          h("form", { class: "filters", onsubmit: (e) => e.preventDefault() }, statusFilter)),
        listAlert, summary, h("div", { class: "table-wrap" }, table), empty,
        pager)));

  function go(delta) {
    state.page = Math.min(Math.max(1, state.page + delta), state.pages);
    load();
  }

  function showSummary() {
    const n = state.total;
    summary.textContent = `${n} job${n === 1 ? "" : "s"} · page ${state.page} of ${Math.max(1, state.pages)}`;
    showPage({ prev, next, pager, empty, table }, state.page, state.pages, rows.size);
  }

  async function load() {
    listAlert.hidden = true;
    try {
      const envelope = await api.get(`/jobs${query({ page: state.page, per_page: PER_PAGE, status: state.status })}`);
      const p = envelope.meta.pagination || {};
      state.pages = Math.max(1, p.pages || 1);
      state.total = p.total || 0;
      rows.clear();
      tbody.replaceChildren();
      for (const job of envelope.data) upsert(job);
    } catch (err) {
      showListError(err);
    }
    showSummary();
  }

  function showListError(err) {
    replaceChildren(listAlert, h("p", { text: err.message }));
    listAlert.hidden = false;
  }

  function buildRow(job) {
    const label = jobLabel(job);
    const cells = {
      status: h("td", { "data-label": "Status" }, statusBadge(job.status)),
      progress: progressBar(job, `Progress of ${label}`),
      message: h("td", { class: "job-message", "data-label": "Message", text: job.message || "" }),
      actions: jobActions(job, {
        label,
        onJob: (updated, message) => {
          ctx.notify(message);
          upsert(updated);
        },
        onError: showListError,
      }),
    };
    const tr = h("tr", { dataset: { jobId: job.id } },
      h("th", { scope: "row", "data-label": "Job" },
        h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, class: "job-link", text: job.type }),
        h("span", { class: "muted job-id", text: String(job.id).slice(0, 8) })),
      cells.status,
      h("td", { "data-label": "Progress" }, cells.progress),
      cells.message,
      h("td", { "data-label": "Created" }, timeEl(job.created_at)),
      h("td", { class: "actions-cell" }, cells.actions));
    return { tr, cells };
  }

  function place(tr, job) {
    // Newest first, by creation time.
    for (const other of tbody.children) {
      const known = rows.get(other.dataset.jobId);
      if (known && Date.parse(known.job.created_at) < Date.parse(job.created_at)) {
        tbody.insertBefore(tr, other);
        return;
      }
    }
    tbody.append(tr);
  }

  /** Add a job (from an HTTP answer) or apply a newer version of one. */
  function upsert(job, { isNew = false } = {}) {
    const row = rows.get(job.id);
    if (row) {
      if (!isNewer(job, row.job)) return;
      row.job = { ...row.job, ...job };
      replaceChildren(row.cells.status, statusBadge(row.job.status));
      setProgress(row.cells.progress, row.job);
      row.cells.message.textContent = row.job.message || "";
      row.cells.actions.update(row.job);
      return;
    }
    if (isNew && (state.page !== 1 || (state.status && job.status !== state.status))) return;
    const built = buildRow(job);
    rows.set(job.id, { job, ...built });
    place(built.tr, job);
    if (isNew) {
      state.total += 1;
      while (rows.size > PER_PAGE) {
        const last = tbody.lastElementChild;
        rows.delete(last.dataset.jobId);
        last.remove();
      }
      showSummary();
    }
  }

  async function addUnknown(event) {
    // Only a queued event can be a new job; others are jobs on other pages.
    if (event.status !== "queued" || state.page !== 1 || ignored.has(event.id) || fetching.has(event.id)) return;
    fetching.add(event.id);
    try {
      const job = (await api.get(`/jobs/${encodeURIComponent(event.id)}`)).data;
      if (job.tenant_id !== ctx.tenant.id) ignored.add(job.id);
      else upsert(job, { isNew: true });
    } catch {
      ignored.add(event.id);
    } finally {
      fetching.delete(event.id);
    }
  }

  function onJobUpdated(event) {
    if (!event || !event.id) return;
    if (rows.has(event.id)) upsert(event);
    else if (submitting) held.push(event);
    else addUnknown(event);
  }

  function releaseHeld() {
    const events = held;
    held = [];
    for (const event of events) onJobUpdated(event);
  }

  const stopLive = liveScreen(onJobUpdated, load);
  await load();
  return stopLive;
}
