// One job: its fields, cancel/retry, and its event timeline
// (GET /jobs/{id}/events, oldest first). job.updated events update the
// summary at once and fetch only the timeline entries not yet shown.

import { api, query } from "../../api.js";
import { h, replaceChildren, timeEl } from "../../dom.js";
import { formAlert } from "../../forms.js";
import { call, liveScreen } from "../../live.js";
import { isNewer, jobActions, jobLabel, progressBar, setProgress, statusBadge } from "./widgets.js";

const EVENTS_PER_PAGE = 100;

function json(value) {
  return h("pre", { class: "json", tabindex: "0", text: JSON.stringify(value, null, 2) });
}

function describeData(data) {
  if (!data) return null;
  const parts = [];
  for (const [key, value] of Object.entries(data)) {
    if (key === "error" && value && typeof value === "object") parts.push(`${value.code}: ${value.message}`);
    else if (key === "retry_in") parts.push(`next try in ${Number(value).toFixed(1)} s`);
    else parts.push(`${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`);
  }
  return h("span", { class: "muted event-data", text: parts.join(" · ") });
}

function eventItem(event) {
  const what = event.kind === "progress" ? `${event.progress} %` : event.status;
  return h("li", { class: `event event-${event.kind}`, dataset: { eventId: event.id } },
    h("span", { class: "event-time" }, timeEl(event.created_at)),
    h("span", { class: "event-what" }, event.kind === "transition" ? statusBadge(what) : what),
    h("span", { class: "event-message", text: event.message || "" }),
    event.attempt ? h("span", { class: "muted", text: `attempt ${event.attempt}` }) : null,
    describeData(event.data));
}

export async function renderJobDetail(main, [jobId], ctx) {
  const path = `/jobs/${encodeURIComponent(jobId)}`;
  let job = (await api.get(path)).data;
  const label = jobLabel(job);

  const alert = formAlert();
  const status = h("dd", {}, statusBadge(job.status));
  const progress = progressBar(job, `Progress of ${label}`);
  const message = h("dd", { class: "job-message" });
  const attempts = h("dd");
  const times = { next_attempt_at: h("dd"), created_at: h("dd"), started_at: h("dd"), finished_at: h("dd") };
  const outcome = h("div", { class: "outcome" });
  const timeline = h("ol", { class: "timeline", "aria-label": "Event timeline, oldest first" });
  const actions = jobActions(job, {
    label,
    onJob: (updated, text) => {
      ctx.notify(text);
      apply(updated);
      syncEvents();
    },
    onError: (err) => {
      replaceChildren(alert, h("p", { text: err.message }));
      alert.hidden = false;
    },
  });

  main.append(
    h("p", {}, h("a", { href: "#/jobs", class: "back", text: "← All jobs" })),
    h("h1", {}, `${job.type} `, h("span", { class: "muted", text: String(job.id).slice(0, 8) })),
    alert,
    h("section", { class: "card job-summary", "aria-label": "Job", dataset: { jobId: job.id } },
      h("dl", { class: "fields" },
        h("dt", { text: "Status" }), status,
        h("dt", { text: "Progress" }), h("dd", {}, progress),
        h("dt", { text: "Message" }), message,
        h("dt", { text: "Attempts" }), attempts,
        h("dt", { text: "Next attempt" }), times.next_attempt_at,
        h("dt", { text: "Created" }), times.created_at,
        h("dt", { text: "Started" }), times.started_at,
        h("dt", { text: "Finished" }), times.finished_at,
        h("dt", { text: "Request id" }), h("dd", {}, h("code", { text: job.request_id || "—" })),
        h("dt", { text: "Job id" }), h("dd", {}, h("code", { text: job.id }))),
      h("div", { class: "form-actions" }, actions),
      h("h2", { text: "Payload" }), json(job.payload),
      outcome),
    h("section", { class: "card", "aria-labelledby": "timeline-title" },
      h("h2", { id: "timeline-title", text: "Timeline" }), timeline));

  function apply(update) {
    if (!isNewer(update, job)) return;
    job = { ...job, ...update };
    replaceChildren(status, statusBadge(job.status));
    setProgress(progress, job);
    message.textContent = job.message || "";
    attempts.textContent = job.max_attempts ? `${job.attempts} of ${job.max_attempts}` : String(job.attempts ?? "");
    for (const [key, dd] of Object.entries(times)) {
      if (key in job) replaceChildren(dd, timeEl(job[key]));
    }
    replaceChildren(outcome,
      job.result !== null && job.result !== undefined ? [h("h2", { text: "Result" }), json(job.result)] : null,
      job.error ? [h("h2", { text: "Error" }),
        h("p", { class: "job-error" }, h("code", { text: job.error.code }), ` ${job.error.message}`)] : null);
    actions.update(job);
  }

  // The timeline only grows: fetch from the page holding the first entry not
  // shown yet. One fetch at a time; updates during it ask for one more round.
  let lastId = 0;
  let shown = 0;
  let syncing = null;
  let again = false;
  async function fetchNew() {
    let page = Math.floor(shown / EVENTS_PER_PAGE) + 1;
    for (;;) {
      const envelope = await api.get(`${path}/events${query({ page, per_page: EVENTS_PER_PAGE })}`);
      for (const event of envelope.data) {
        if (event.id > lastId) {
          timeline.append(eventItem(event));
          lastId = event.id;
          shown += 1;
        }
      }
      const pages = (envelope.meta.pagination || {}).pages || 1;
      if (page >= pages) return;
      page += 1;
    }
  }
  function syncEvents() {
    if (syncing) {
      again = true;
      return syncing;
    }
    syncing = fetchNew()
      .catch((err) => {
        replaceChildren(alert, h("p", { text: err.message }));
        alert.hidden = false;
      })
      .finally(() => {
        syncing = null;
        if (again) {
          again = false;
          syncEvents();
        }
      });
    return syncing;
  }

  async function reload() {
    try {
      apply((await api.get(path)).data);
    } catch {
      /* the timeline fetch reports errors */
    }
    await syncEvents();
  }

  function onJobUpdated(event) {
    if (!event || event.id !== job.id) return;
    apply(event);
    syncEvents();
  }

  // Joining the job's room is what API.md promises for following one job
  // (rooms do not survive a reconnect, so join again then). Tenant members
  // get its events anyway, so a failure here costs nothing.
  const subscribe = () => call("subscribe", { job_id: job.id }).catch(() => {});
  subscribe();
  const stopLive = liveScreen(onJobUpdated, () => {
    subscribe();
    reload();
  });
  const first = job;
  job = { ...job, updated_at: "" }; // force the first apply
  apply(first);
  await syncEvents();
  return () => {
    stopLive();
    call("unsubscribe", { job_id: job.id }).catch(() => {});
  };
}
