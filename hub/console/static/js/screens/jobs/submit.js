// "New job": pick a job type, fill a form generated from its payload schema
// (GET /jobs/types), POST /jobs with an Idempotency-Key.

import { api } from "../../api.js";
import { codeText, h, randomId, replaceChildren, uid } from "../../dom.js";
import { clearErrors, field, formAlert, schemaFields, showError } from "../../forms.js";

/**
 * The submit form. `types` is GET /jobs/types' data; `onCreated(job, message)`
 * gets the 202 answer; `onSubmitting(busy)` brackets the request (the list
 * holds back live events of unknown jobs meanwhile, see list.js).
 */
export function submitForm({ types, onCreated, onSubmitting }) {
  const creatable = types.filter((t) => t.creatable);
  const alert = formAlert();
  const typeField = field({ path: "type", label: "Job type", control: "select", required: true,
    options: creatable.map((t) => ({ value: t.name, label: t.name })) });
  const description = h("p", { class: "hint type-description" });
  const payloadSet = h("fieldset", { class: "payload", dataset: { field: "payload" } },
    h("legend", { text: "Payload" }));
  const payloadBody = h("div", { class: "payload-fields" });
  const payloadError = h("p", { class: "field-error", id: uid("payload-error"), hidden: true });
  payloadSet.append(payloadError, payloadBody);
  const runAt = field({ path: "run_at", label: "Start at", type: "datetime-local",
    hint: "Optional. Your local time; leave empty to start now." });
  const notify = field({ path: "notify", label: "Email me when it finishes", type: "checkbox" });
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Queue job" });
  const form = h("form", { class: "job-form", novalidate: true, "aria-labelledby": "new-job-title" },
    alert, typeField, description, payloadSet, runAt, notify, h("div", { class: "form-actions" }, button));

  let payload = null;
  // One Idempotency-Key per distinct request: sending the same body again
  // (after a timeout, say) reuses it, so the hub does not queue the job twice.
  let lastAttempt = null;

  function showType() {
    const jtype = creatable.find((t) => t.name === typeField.control.value);
    replaceChildren(description, jtype ? codeText(jtype.description) : null);
    payload = schemaFields(jtype ? jtype.payload_schema : {}, "payload");
    replaceChildren(payloadBody, payload.nodes);
    clearErrors(form);
  }
  typeField.control.addEventListener("change", showType);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { value, errors } = payload.read();
    if (Object.keys(errors).length) {
      showError(form, { message: "Some fields need attention." }, errors);
      return;
    }
    const body = { type: typeField.control.value, payload: value };
    if (runAt.control.value) body.run_at = new Date(runAt.control.value).toISOString();
    if (notify.control.checked) body.notify = true;
    const text = JSON.stringify(body);
    if (!lastAttempt || lastAttempt.text !== text) lastAttempt = { text, key: randomId() };
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    onSubmitting(true);
    try {
      const envelope = await api.post("/jobs", body, { headers: { "Idempotency-Key": lastAttempt.key } });
      lastAttempt = null;
      onCreated(envelope.data, envelope.message);
    } catch (err) {
      // A definite answer (4xx) means the key was not used for a job; forget it.
      if (err.status >= 400 && err.status < 500) lastAttempt = null;
      showError(form, err);
    } finally {
      onSubmitting(false);
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });

  if (!creatable.length) {
    return h("p", { class: "muted", text: "This hub has no job types you can start by hand." });
  }
  showType();
  return form;
}
