// One reconciliation: watch its job run (job.updated, through followJob),
// then read the report it stored (chart, counts, totals, mismatches).

import { api } from "../../api.js";
import { h, replaceChildren, timeEl } from "../../dom.js";
import { FINISHED, followJob } from "../../follow.js";
import { formAlert } from "../../forms.js";
import { progressBar, setProgress } from "../jobs/widgets.js";
import { reportSections } from "./report.js";
import { periodText, recStatusBadge, triggerText } from "./widgets.js";

const RUNNING = new Set(["queued", "running"]);

export async function renderReconciliation(main, [recId]) {
  const path = `/payments/reconciliations/${encodeURIComponent(recId)}`;
  let rec = (await api.get(path)).data;
  let stop = null; // stops following the job

  const alert = formAlert();
  const heading = h("h1");
  const status = h("dd");
  const progress = progressBar(rec.job || {}, "Progress of the reconciliation");
  const message = h("dd", { class: "job-message" });
  const finished = h("dd");
  const jobLink = h("dd");
  const error = h("div", { class: "rec-error" });
  const report = h("div", { class: "report" });
  const summary = h("section", { class: "card rec-summary", "aria-label": "Reconciliation",
    dataset: { recId: rec.id } },
  h("dl", { class: "fields" },
    h("dt", { text: "Status" }), status,
    h("dt", { text: "Progress" }), h("dd", {}, progress),
    h("dt", { text: "Message" }), message,
    h("dt", { text: "Period" }), h("dd", { class: "rec-period", text: periodText(rec.from, rec.to) }),
    h("dt", { text: "Started by" }), h("dd", { text: triggerText(rec.trigger) }),
    rec.payout_id ? [h("dt", { text: "Payout" }), h("dd", {}, h("code", { text: rec.payout_id }))] : null,
    h("dt", { text: "Created" }), h("dd", {}, timeEl(rec.created_at)),
    h("dt", { text: "Finished" }), finished,
    h("dt", { text: "Job" }), jobLink),
  error);
  main.append(h("p", {}, h("a", { href: "#/reconciliations", class: "back", text: "← All reconciliations" })),
    heading, alert, summary, report);

  /** Show the reconciliation as the hub has it (the report once there is one). */
  function show() {
    replaceChildren(heading, "Reconciliation ", h("span", { class: "muted", text: periodText(rec.from, rec.to) }));
    replaceChildren(status, recStatusBadge(rec.status));
    if (rec.job) {
      setProgress(progress, rec.job);
      message.textContent = rec.job.message || "";
    }
    replaceChildren(finished, timeEl(rec.finished_at));
    replaceChildren(jobLink, rec.job_id
      ? h("a", { href: `#/jobs/${encodeURIComponent(rec.job_id)}`, text: String(rec.job_id).slice(0, 8) })
      : h("span", { class: "muted", text: "—" }));
    replaceChildren(error, rec.error ? h("p", { class: "job-error", role: "alert" },
      h("code", { text: rec.error.code || "ERROR" }), ` ${rec.error.message || ""}`) : null);
    replaceChildren(report, rec.report ? reportSections(rec.report) : null);
  }

  /** While it runs, the job's events say how far it got (status, progress, message). */
  function onJob(job) {
    if (!RUNNING.has(rec.status)) return;
    replaceChildren(status, recStatusBadge(job.status));
    setProgress(progress, job);
    message.textContent = job.message || "";
    if (FINISHED.has(job.status)) reload();
  }

  async function reload() {
    try {
      rec = (await api.get(path)).data;
      alert.hidden = true;
      show();
      if (!RUNNING.has(rec.status) && stop) {
        stop();
        stop = null;
      }
    } catch (err) {
      replaceChildren(alert, h("p", { text: err.message }));
      alert.hidden = false;
    }
  }

  show();
  stop = rec.job_id && RUNNING.has(rec.status) ? followJob(rec.job_id, onJob) : null;
  return () => {
    if (stop) stop();
  };
}
