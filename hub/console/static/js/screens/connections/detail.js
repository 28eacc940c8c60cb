// One connection: its state and settings (credentials only as "stored"),
// "Sync now" with the sync job followed live, and the records the syncs
// brought in. When a sync finishes, the connection and its records are read
// again, so the new records appear without a reload.

import { api, query } from "../../api.js";
import { h, replaceChildren, showPage, timeEl } from "../../dom.js";
import { FINISHED, followJob } from "../../follow.js";
import { formAlert } from "../../forms.js";
import { actionButton, panelSlot } from "../../lists.js";
import { navigate } from "../../router.js";
import { connectionForm } from "./form.js";
import { canManage, connectionStatus, scheduleText, syncBox, syncButton } from "./widgets.js";

const PER_PAGE = 25;

function recordRow(record) {
  return h("tr", { dataset: { recordId: record.id } },
    h("th", { scope: "row", "data-label": "Id", class: "record-id", text: record.external_id }),
    h("td", { "data-label": "Data" }, h("code", { class: "record-data", text: JSON.stringify(record.data) })),
    h("td", { "data-label": "Changed" }, timeEl(record.updated_at)));
}

export async function renderConnection(main, [connectionId], ctx) {
  const path = `/connections/${encodeURIComponent(connectionId)}`;
  const [first, connectors] = await Promise.all([api.get(path), api.get("/connectors")]);
  let conn = first.data;
  const connector = connectors.data.find((c) => c.name === conn.connector);
  const label = conn.name;

  const alert = formAlert();
  const heading = h("h1");
  const fields = h("dl", { class: "fields" });
  const box = syncBox(conn, label);
  const jobLink = h("p", { class: "muted sync-job" });
  const settings = h("pre", { class: "json", tabindex: "0" });
  const state = { page: 1, pages: 1 };
  const tbody = h("tbody");
  const recordsSummary = h("p", { class: "muted list-summary", "aria-live": "polite" });
  const empty = h("p", { class: "muted empty", text: "No records yet. Sync to bring them in.", hidden: true });
  const prev = h("button", { type: "button", class: "btn", text: "Previous page", onclick: () => go(-1) });
  const next = h("button", { type: "button", class: "btn", text: "Next page", onclick: () => go(1) });
  const pager = h("nav", { class: "pager", "aria-label": "Record pages" }, prev, next);
  const table = h("table", { class: "jobs-table records-table" },
    h("caption", { class: "sr-only", text: "Synced records" }),
    h("thead", {}, h("tr", {}, ["Id", "Data", "Changed"].map((t) => h("th", { scope: "col", text: t })))),
    tbody);

  let stop = null;
  let active = false; // a sync we saw queued or running: reload when it finishes
  function follow(jobId) {
    if (stop) stop();
    stop = followJob(jobId, (job) => {
      replaceChildren(jobLink, "Sync job ", h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`,
        text: String(job.id).slice(0, 8) }));
      if (!FINISHED.has(job.status)) {
        active = true;
        box.showJob(job);
      } else if (active) {
        active = false;
        box.showJob(job);
        reload();
      }
    });
  }

  const slot = panelSlot();
  const manage = canManage(ctx) ? h("div", { class: "form-actions" },
    h("button", { type: "button", class: "btn connection-edit-open", text: "Edit connection",
      onclick: () => slot.open(editPanel()) }),
    actionButton({ text: "Delete connection", label: `Delete ${label}`, cls: "connection-delete",
      confirm: `Delete ${label} and its records? This cannot be undone.`, onError: showAlert,
      run: async () => {
        const envelope = await api.delete(path);
        navigate("connections");
        ctx.notify(envelope.message);
      } })) : null;

  function editPanel() {
    return h("section", { class: "card", "aria-labelledby": "edit-connection-title" },
      h("h2", { id: "edit-connection-title", text: `Edit ${conn.name}` }),
      connectionForm(connectors.data, { connection: conn, titleId: "edit-connection-title",
        onSaved: (envelope) => {
          ctx.notify(envelope.message);
          conn = envelope.data;
          slot.close();
          show();
        },
        onCancel: () => slot.close() }));
  }

  const sync = canManage(ctx) ? syncButton(conn, label, {
    onJob: (job, message) => {
      ctx.notify(message);
      alert.hidden = true;
      active = true;
      box.showJob(job);
      follow(job.id);
    },
    onError: showAlert,
  }) : null;

  main.append(h("p", {}, h("a", { href: "#/connections", class: "back", text: "← All connections" })),
    heading, manage, slot, alert,
    h("section", { class: "card connection-summary", "aria-label": "Connection", dataset: { connectionId: conn.id } },
      fields,
      h("h2", { text: "Sync" }), box, jobLink, sync ? h("div", { class: "form-actions" }, sync) : null),
    h("section", { class: "card", "aria-labelledby": "settings-title" },
      h("h2", { id: "settings-title", text: "Settings" }), settings),
    h("section", { class: "card", "aria-labelledby": "records-title" },
      h("h2", { id: "records-title", text: "Records" }),
      recordsSummary, h("div", { class: "table-wrap" }, table), empty, pager));

  function showAlert(err) {
    replaceChildren(alert, h("p", { text: err.message }));
    alert.hidden = false;
  }

  function show() {
    replaceChildren(heading, `${conn.name} `, h("span", { class: "muted", text: connector ? connector.title : conn.connector }));
    replaceChildren(fields,
      h("dt", { text: "Status" }), h("dd", {}, connectionStatus(conn),
        conn.status_reason ? h("span", { class: "muted job-id", text: conn.status_reason }) : null),
      h("dt", { text: "Connector" }), h("dd", {}, h("code", { text: conn.connector })),
      h("dt", { text: "Credentials" }), h("dd", { class: "credentials-state",
        text: conn.has_credentials ? "Stored (never shown)" : "None" }),
      h("dt", { text: "Schedule" }), h("dd", { text: scheduleText(conn.schedule) }),
      h("dt", { text: "Next sync" }), h("dd", {}, timeEl(conn.next_sync_at)),
      h("dt", { text: "Created" }), h("dd", {}, timeEl(conn.created_at)));
    if (!active) box.showConnection(conn);
    settings.textContent = JSON.stringify(conn.config, null, 2);
  }

  async function loadRecords() {
    const envelope = await api.get(`${path}/records${query({ page: state.page, per_page: PER_PAGE })}`);
    const p = envelope.meta.pagination || {};
    state.pages = Math.max(1, p.pages || 1);
    replaceChildren(tbody, envelope.data.map(recordRow));
    recordsSummary.textContent = `${p.total || 0} record${p.total === 1 ? "" : "s"} · page ${state.page} of ${state.pages}`;
    showPage({ prev, next, pager, empty, table }, state.page, state.pages, tbody.children.length);
  }

  function go(delta) {
    state.page = Math.min(Math.max(1, state.page + delta), state.pages);
    loadRecords().catch(showAlert);
  }

  async function reload() {
    try {
      const [fresh] = await Promise.all([api.get(path), loadRecords()]);
      conn = fresh.data;
      show();
    } catch (err) {
      showAlert(err);
    }
  }

  show();
  await loadRecords().catch(showAlert);
  if (conn.sync_job_id) follow(conn.sync_job_id); // shows a sync still under way
  return () => {
    if (stop) stop();
  };
}
