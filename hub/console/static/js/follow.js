// Following one job live, for screens that start work of their own (a
// reconciliation, a connection's sync): job.updated events for that job, the
// job's room joined as API.md promises (rooms do not survive a reconnect, so
// join again then), and a re-read after a reconnect, since events sent while
// the socket was down are lost. Stale or out-of-order versions are dropped.

import { api } from "./api.js";
import { call, liveScreen } from "./live.js";
import { isNewer } from "./screens/jobs/widgets.js";

export const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/**
 * Call `onUpdate(job)` with each newer version of job `jobId` (the first from
 * GET /jobs/{id}, which catches up on anything that happened before we
 * listened). Returns a function that stops following.
 */
export function followJob(jobId, onUpdate) {
  let known = null;
  let stopped = false;
  function apply(update) {
    if (stopped || !update || update.id !== jobId || (known && !isNewer(update, known))) return;
    known = { ...(known || {}), ...update };
    onUpdate(known);
  }
  function reload() {
    api.get(`/jobs/${encodeURIComponent(jobId)}`).then((envelope) => apply(envelope.data), () => {});
  }
  const subscribe = () => call("subscribe", { job_id: jobId }).catch(() => {});
  subscribe();
  const stopLive = liveScreen(apply, () => {
    subscribe();
    reload();
  });
  reload();
  return () => {
    stopped = true;
    stopLive();
    call("unsubscribe", { job_id: jobId }).catch(() => {});
  };
}
