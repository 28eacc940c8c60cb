// Connections to third-party systems: the list with each one's sync state and
// "Sync now" (admins and owners), the create form generated from the chosen
// connector's schemas (form.js), and one connection's records (detail.js).
// Sync jobs' job.updated events move the rows' state live; a finished sync
// re-reads its connection.

import { api, query } from "../../api.js";
import { h, replaceChildren, timeEl } from "../../dom.js";
import { FINISHED } from "../../follow.js";
import { formAlert } from "../../forms.js";
import { debounce, liveScreen } from "../../live.js";
import { isNewer } from "../jobs/widgets.js";
import { renderConnection } from "./detail.js";
import { connectionForm } from "./form.js";
import { canManage, connectionStatus, syncBox, syncButton } from "./widgets.js";

const SYNC_JOB = "sync.run";

async function renderConnections(main, _params, ctx) {
  const manage = canManage(ctx);
  const connectors = manage ? (await api.get("/connectors")).data : [];
  const rows = new Map(); // connection id -> {conn, tr, box}
  const listAlert = formAlert();
  const tbody = h("tbody");
  const summary = h("p", { class: "muted list-summary", "aria-live": "polite" });
  const empty = h("p", { class: "muted empty", text: "No connections yet.", hidden: true });
  const table = h("table", { class: "jobs-table connections-table" },
    h("caption", { class: "sr-only", text: "Connections, newest first" }),
    h("thead", {}, h("tr", {},
      ["Connection", "Status", "Last sync", "Created"].map((t) => h("th", { scope: "col", text: t })),
      h("th", { scope: "col" }, h("span", { class: "sr-only", text: "Actions" })))),
    tbody);
  const list = h("section", { class: "card", "aria-labelledby": "connection-list-title" },
    h("h2", { id: "connection-list-title", text: "Your connections" }),
    listAlert, summary, h("div", { class: "table-wrap" }, table), empty);

  main.append(h("h1", { text: "Connections" }), manage
    ? h("div", { class: "jobs-layout" },
      h("section", { class: "card", "aria-labelledby": "new-connection-title" },
        h("h2", { id: "new-connection-title", text: "New connection" }),
        connectionForm(connectors, { titleId: "new-connection-title", onSaved: (envelope) => {
          ctx.notify(envelope.message);
          load();
        } })),
      list)
    : list);

  function showListError(err) {
    replaceChildren(listAlert, h("p", { text: err.message }));
    listAlert.hidden = false;
  }

  function buildRow(conn) {
    const href = `#/connections/${encodeURIComponent(conn.id)}`;
    const box = syncBox(conn, conn.name);
    const tr = h("tr", { dataset: { connectionId: conn.id, syncJobId: conn.sync_job_id || "" } },
      h("th", { scope: "row", "data-label": "Connection" },
        h("a", { href, class: "connection-link", text: conn.name }),
        h("span", { class: "muted job-id", text: conn.connector })),
      h("td", { "data-label": "Status" }, connectionStatus(conn)),
      h("td", { "data-label": "Last sync" }, box),
      h("td", { "data-label": "Created" }, timeEl(conn.created_at)),
      h("td", { class: "actions-cell" }, h("span", { class: "actions" },
        manage ? syncButton(conn, conn.name, {
          onJob: (job, message) => {
            ctx.notify(message);
            tr.dataset.syncJobId = job.id;
            showJob(rows.get(conn.id), job);
          },
          onError: showListError,
        }) : null,
        h("a", { class: "btn btn-small", href, "aria-label": `Records of ${conn.name}`, text: "Records" }))));
    return { conn, tr, box };
  }

  async function load() {
    listAlert.hidden = true;
    try {
      const envelope = await api.get(`/connections${query({ per_page: 100 })}`);
      rows.clear();
      for (const conn of envelope.data) rows.set(conn.id, buildRow(conn));
      replaceChildren(tbody, [...rows.values()].map((r) => r.tr));
      const n = (envelope.meta.pagination || {}).total ?? envelope.data.length;
      summary.textContent = `${n} connection${n === 1 ? "" : "s"}`;
    } catch (err) {
      showListError(err);
    }
    empty.hidden = rows.size > 0;
    table.hidden = rows.size === 0;
  }

  async function refreshRow(row) {
    try {
      const fresh = buildRow((await api.get(`/connections/${encodeURIComponent(row.conn.id)}`)).data);
      rows.set(row.conn.id, fresh);
      row.tr.replaceWith(fresh.tr);
    } catch (err) {
      showListError(err);
    }
  }

  // A sync nobody here started (the schedule, another admin) is unknown to
  // the rows: re-read the list, at most once per burst of events.
  const loadSoon = debounce(load, 300);
  function onJobUpdated(event) {
    if (!event || event.type !== SYNC_JOB) return;
    const row = [...rows.values()].find((r) => r.tr.dataset.syncJobId === event.id);
    if (!row) {
      if (event.status === "queued") loadSoon();
      return;
    }
    showJob(row, event);
    if (FINISHED.has(event.status)) refreshRow(row);
  }

  // The POST's answer and the socket's events may cross: never step back.
  function showJob(row, job) {
    if (!row || (row.job && row.job.id === job.id && !isNewer(job, row.job))) return;
    row.job = job;
    row.box.showJob(job);
  }

  const stopLive = liveScreen(onJobUpdated, load);
  await load();
  return () => {
    loadSoon.cancel();
    stopLive();
  };
}

export default {
  id: "connections",
  nav: [{ label: "Connections", href: "#/connections" }],
  routes: [
    { path: /^connections$/, title: "Connections", render: renderConnections },
    { path: /^connections\/([0-9a-fA-F-]{36})$/, title: "Connection", render: renderConnection },
  ],
};
