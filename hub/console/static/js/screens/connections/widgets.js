// Pieces shared by the connection screens: who may manage, how a connection's
// state reads, and the sync box (Sync now, the running job's progress, or
// the last sync's outcome).

import { api } from "../../api.js";
import { h, randomId, replaceChildren, timeEl } from "../../dom.js";
import { FINISHED } from "../../follow.js";
import { progressBar, setProgress } from "../jobs/widgets.js";

/** Creating, changing and syncing need the admin or owner role (members read). */
export { isAdmin as canManage } from "../../roles.js";

export function connectionStatus(conn) {
  const attention = conn.status === "needs_attention";
  return h("span", { class: `status ${attention ? "status-failed" : "status-succeeded"} connection-status`,
    text: attention ? "needs attention" : conn.status });
}

/** "42 records: 40 new, 2 updated, 0 unchanged, 0 deleted (5 pages)". */
export function countsText(counts) {
  if (!counts) return "";
  const n = (key) => Number(counts[key] || 0);
  return `${n("records")} record${n("records") === 1 ? "" : "s"}: ${n("created")} new, ${n("updated")} updated, `
    + `${n("unchanged")} unchanged, ${n("deleted")} deleted (${n("pages")} page${n("pages") === 1 ? "" : "s"})`;
}

export function scheduleText(schedule) {
  if (!schedule) return "Only on “Sync now”";
  if (schedule.interval_seconds) return `Every ${schedule.interval_seconds} s`;
  return `Cron ${schedule.cron} (UTC)`;
}

/**
 * The sync state of one connection: a status badge (the running job's status,
 * else the last sync's), the job's progress while it runs, and what happened.
 * `box.showJob(job)` while a sync job runs; `box.showConnection(conn)` after.
 */
export function syncBox(conn, label) {
  const badge = h("span", { class: "sync-status-wrap" });
  const progress = progressBar({ progress: 0 }, `Sync progress of ${label}`);
  const when = h("span", { class: "sync-when" });
  const text = h("span", { class: "muted job-message sync-message" });
  const box = h("div", { class: "sync-box" }, h("div", { class: "sync-line" }, badge, when), progress, text);
  box.showJob = (job) => {
    replaceChildren(badge, h("span", { class: `status status-${job.status} sync-status`, text: job.status }));
    progress.hidden = FINISHED.has(job.status);
    setProgress(progress, job);
    replaceChildren(when);
    text.textContent = job.message || "";
  };
  box.showConnection = (c) => {
    const status = c.last_sync_status;
    replaceChildren(badge, h("span", { class: `status status-${status || "queued"} sync-status`,
      text: status || "never synced" }));
    progress.hidden = true;
    replaceChildren(when, c.last_sync_at ? timeEl(c.last_sync_at) : null);
    text.textContent = status === "failed" ? c.last_error || "" : countsText(c.last_sync_counts);
  };
  box.showConnection(conn);
  return box;
}

/**
 * "Sync now": POST /connections/{id}/sync with a fresh Idempotency-Key;
 * `onJob(job, message)` gets the 202's job, `onError(err)` an ApiError
 * (409 while a sync is already queued or running).
 */
export function syncButton(conn, label, { onJob, onError }) {
  return h("button", { type: "button", class: "btn btn-small sync-now", "aria-label": `Sync ${label} now`,
    text: "Sync now",
    onclick: async (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      try {
        const envelope = await api.post(`/connections/${encodeURIComponent(conn.id)}/sync`, undefined,
          { headers: { "Idempotency-Key": randomId() } });
        onJob(envelope.data, envelope.message);
      } catch (err) {
        onError(err);
      } finally {
        button.disabled = false;
      }
    } });
}
