// "Many jobs": paste a JSON list of jobs (or pick a .json file holding one) and
// queue them all with one POST /jobs/batch, all or none.

import { api } from "../../api.js";
import { h, randomId } from "../../dom.js";
import { clearErrors, field, formAlert, showError } from "../../forms.js";

// A file larger than this is not read: far more than JOB_BATCH_MAX small jobs.
const MAX_FILE_BYTES = 5 * 1024 * 1024;

const EXAMPLE = '[{"type": "demo.sleep", "payload": {"seconds": 1}},\n {"type": "demo.sleep", "payload": {"seconds": 2}}]';

/** The jobs of the text: a JSON list, or an object with a `jobs` list; or an error message. */
export function readJobs(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `This is not JSON: ${err.message}` };
  }
  const jobs = Array.isArray(value) ? value : value && Array.isArray(value.jobs) ? value.jobs : null;
  if (!jobs) return { error: 'Give a JSON list of jobs, or an object {"jobs": [...]}.' };
  if (!jobs.length) return { error: "The list is empty." };
  return { jobs };
}

/** "jobs.3.payload.seconds" → "job 4, payload.seconds": people count from one. */
function byJob(fieldErrors) {
  const jobs = (fieldErrors || {}).jobs;
  if (!jobs || Array.isArray(jobs) || typeof jobs !== "object") return fieldErrors;
  const out = {};
  for (const [index, errors] of Object.entries(jobs)) out[`job ${Number(index) + 1}`] = errors;
  return out;
}

/**
 * The batch form. `onCreated(jobs, message)` gets the 202 answer's jobs, in order;
 * `onSubmitting(busy)` brackets the request, as the single-job form's does.
 */
export function batchForm({ onCreated, onSubmitting }) {
  const alert = formAlert();
  const list = field({ path: "jobs", label: "Jobs (JSON)", control: "textarea", required: true,
    hint: "A list of {type, payload, run_at?, notify?}, as `POST /jobs` takes one. All are queued, or none.",
    attrs: { rows: 6, spellcheck: "false", placeholder: EXAMPLE } });
  const file = field({ path: "file", label: "…or read them from a file", type: "file",
    attrs: { accept: ".json,application/json" } });
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Queue all" });
  const form = h("form", { class: "job-form batch-form", novalidate: true, "aria-labelledby": "batch-title" },
    alert, list, file, h("div", { class: "form-actions" }, button));
  let lastAttempt = null; // one Idempotency-Key per distinct request, as in submit.js

  file.control.addEventListener("change", async () => {
    clearErrors(form);
    const chosen = file.control.files[0];
    if (!chosen) return;
    if (chosen.size > MAX_FILE_BYTES) {
      showError(form, { message: `That file is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB.` });
      return;
    }
    list.control.value = await chosen.text();
    list.control.focus();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { jobs, error } = readJobs(list.control.value);
    if (error) {
      showError(form, { message: "The list needs attention." }, { jobs: [error] });
      return;
    }
    const body = { jobs };
    const text = JSON.stringify(body);
    if (!lastAttempt || lastAttempt.text !== text) lastAttempt = { text, key: randomId() };
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    onSubmitting(true);
    try {
      const envelope = await api.post("/jobs/batch", body, { headers: { "Idempotency-Key": lastAttempt.key } });
      lastAttempt = null;
      list.control.value = "";
      file.control.value = "";
      onCreated(envelope.data, envelope.message);
    } catch (err) {
      if (err.status >= 400 && err.status < 500) lastAttempt = null;
      showError(form, err, byJob(err.fieldErrors));
    } finally {
      onSubmitting(false);
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}
