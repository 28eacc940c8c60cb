// Pieces of the jobs screens: status badge, progress bar, cancel/retry
// buttons, and the rule that decides which of two versions of a job is newer.

import { api } from "../../api.js";
import { h } from "../../dom.js";

export const CANCELLABLE = new Set(["queued", "retrying", "running"]);
export const RETRYABLE = new Set(["failed", "cancelled"]);
const PHASE = { queued: 0, retrying: 1, running: 1, succeeded: 2, failed: 2, cancelled: 2 };

/**
 * True when `update` (a job or a job.updated event) is at least as new as
 * `known`. Socket events and HTTP answers can arrive out of order; a stale
 * one must not move a row backwards.
 */
export function isNewer(update, known) {
  if (!known) return true;
  // The hub bumps `version` on every write of the job: the one exact order.
  if (Number.isInteger(update.version) && Number.isInteger(known.version)) {
    return update.version >= known.version;
  }
  const a = Date.parse(update.updated_at);
  const b = Date.parse(known.updated_at);
  if (Number.isNaN(a) || Number.isNaN(b) || a !== b) return Number.isNaN(b) || a > b;
  return (PHASE[update.status] ?? 0) >= (PHASE[known.status] ?? 0)
    && (update.progress ?? 0) >= (known.progress ?? 0);
}

export function statusBadge(status) {
  return h("span", { class: `status status-${status} job-status`, text: status });
}

/** A native <progress> (announced by screen readers) with its number beside it. */
export function progressBar(job, label) {
  const value = Math.max(0, Math.min(100, Number(job.progress) || 0));
  return h("span", { class: "progress-wrap" },
    h("progress", { class: "job-progress", max: "100", value: String(value), "aria-label": label }),
    h("span", { class: "progress-text", text: `${value} %` }));
}

/** Update a progressBar() in place. */
export function setProgress(wrap, job) {
  const value = Math.max(0, Math.min(100, Number(job.progress) || 0));
  wrap.querySelector("progress").value = value;
  wrap.querySelector(".progress-text").textContent = `${value} %`;
}

/**
 * Cancel and Retry buttons for a job; each is shown only when the job's
 * status allows it. `onJob(job, message)` receives the hub's answer;
 * `onError(err)` an ApiError.
 */
export function jobActions(job, { onJob, onError, label }) {
  const act = (verb) => async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const envelope = await api.post(`/jobs/${encodeURIComponent(job.id)}/${verb}`);
      onJob(envelope.data, envelope.message);
    } catch (err) {
      onError(err);
    } finally {
      button.disabled = false;
    }
  };
  const cancel = h("button", { type: "button", class: "btn btn-small job-cancel",
    "aria-label": `Cancel ${label}`, onclick: act("cancel"), text: "Cancel" });
  const retry = h("button", { type: "button", class: "btn btn-small job-retry",
    "aria-label": `Retry ${label}`, onclick: act("retry"), text: "Retry" });
  const wrap = h("span", { class: "actions" }, cancel, retry);
  wrap.update = (current) => {
    job = current;
    cancel.hidden = !CANCELLABLE.has(current.status);
    retry.hidden = !RETRYABLE.has(current.status);
  };
  wrap.update(job);
  return wrap;
}

/** "demo.sleep · 3f2a…" — how a job is named to screen readers and in titles. */
export function jobLabel(job) {
  return `${job.type} job ${String(job.id).slice(0, 8)}`;
}
