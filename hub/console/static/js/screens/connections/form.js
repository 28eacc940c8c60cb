// The connection form: to create one, pick an installed connector (GET
// /connectors) and fill the config and credentials forms generated from its
// JSON schemas (POST /connections); to change one, the same form filled with
// its name, config and schedule (PATCH, only what changed). Credentials are
// password inputs, never prefilled; the hub stores them encrypted and never
// returns them, and the form forgets them once sent.

import { api } from "../../api.js";
import { codeText, h, replaceChildren, uid } from "../../dom.js";
import { clearErrors, field, formAlert, schemaFields, showError } from "../../forms.js";

function group(path, legend, hint) {
  return h("fieldset", { class: "connector-fields", dataset: { field: path } },
    h("legend", { text: legend }),
    hint ? h("p", { class: "hint", text: hint }) : null,
    h("p", { class: "field-error", id: uid(`${path}-error`), hidden: true }));
}

/** When the hub syncs on its own: every N seconds, a cron line, or only on “Sync now”. */
function scheduleGroup(schedule) {
  const set = group("schedule", "Schedule", "Leave both empty to sync only when you press “Sync now”.");
  const every = field({ path: "schedule.interval_seconds", label: "Sync every (seconds)", type: "number",
    hint: "At least 60.", attrs: { min: 60, step: 1, inputmode: "numeric",
      value: schedule ? schedule.interval_seconds : null } });
  const cron = field({ path: "schedule.cron", label: "Or on a cron schedule (UTC)",
    hint: "Five fields, e.g. `*/15 * * * *`.",
    attrs: { spellcheck: "false", autocomplete: "off", maxlength: 100, value: schedule ? schedule.cron : null } });
  set.append(every, cron);
  /** {value} (null: no schedule), or {errors} in the hub's shape. */
  set.read = () => {
    if (every.control.validity.badInput) return { errors: { schedule: { interval_seconds: ["Enter a number."] } } };
    const seconds = every.control.value;
    const line = cron.control.value.trim();
    if (seconds !== "" && line) return { errors: { schedule: ["Give either an interval or a cron line."] } };
    if (seconds !== "") return { value: { interval_seconds: Number(seconds) } };
    return { value: line ? { cron: line } : null };
  };
  return set;
}

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * `onSaved(envelope)` gets the hub's answer. With `connection`, the form
 * changes that connection (its connector stays), and `onCancel` closes it.
 */
export function connectionForm(connectors, { connection = null, titleId, onSaved, onCancel = null }) {
  const editing = connection !== null;
  const alert = formAlert();
  const connector = field({ path: "connector", label: "Connector", control: "select", required: true,
    options: connectors.filter((c) => !editing || c.name === connection.connector)
      .map((c) => ({ value: c.name, label: c.title || c.name })), attrs: { disabled: editing } });
  const description = h("p", { class: "hint connector-description" });
  const name = field({ path: "name", label: "Name", required: true,
    attrs: { maxlength: 200, autocomplete: "off", value: editing ? connection.name : null } });
  const settings = group("config", "Settings");
  const secrets = group("credentials", "Credentials", editing
    ? (connection.has_credentials ? "Stored, never shown. Leave empty to keep them; fill in to replace them."
      : "None stored.")
    : "Stored encrypted; never shown again, not even to you.");
  const schedule = scheduleGroup(editing ? connection.schedule : null);
  const button = h("button", { type: "submit", class: "btn btn-primary",
    text: editing ? "Save changes" : "Create connection" });
  const form = h("form", { class: editing ? "connection-form connection-edit" : "connection-form",
    novalidate: true, "aria-labelledby": titleId },
  alert, connector, description, name, settings, secrets, schedule, h("div", { class: "form-actions" }, button,
    onCancel ? h("button", { type: "button", class: "btn", text: "Cancel", onclick: () => onCancel() }) : null));

  let config = null;
  let credentials = null;
  let configAsShown = null; // what the settings read before any edit: unchanged, not sent
  const settingsBody = h("div");
  const secretsBody = h("div");
  settings.append(settingsBody);
  secrets.append(secretsBody);

  function showConnector() {
    const chosen = connectors.find((c) => c.name === connector.control.value);
    replaceChildren(description, chosen ? codeText(chosen.description) : null);
    config = schemaFields(chosen ? chosen.config_schema : {}, "config",
      { title: "Settings", description: "A JSON object for the connector's config_schema.",
        values: editing ? connection.config : null });
    credentials = schemaFields(chosen ? chosen.credentials_schema : {}, "credentials",
      { secret: true, title: "Credentials", description: "A JSON object for the connector's credentials_schema." });
    // Required settings first; the optional ones (all with sensible defaults) fold away.
    const required = config.nodes.filter((n) => n.control && n.control.required);
    const optional = config.nodes.filter((n) => !required.includes(n));
    replaceChildren(settingsBody, required, optional.length
      ? h("details", { class: "more-settings" }, h("summary", { text: `More settings (${optional.length})` }), optional)
      : null);
    replaceChildren(secretsBody, credentials.nodes);
    secrets.hidden = credentials.nodes.length === 0;
    configAsShown = config.read().value;
    clearErrors(form);
  }
  connector.control.addEventListener("change", showConnector);

  function show(err, fieldErrors) {
    showError(form, err, fieldErrors);
    // An error inside the folded settings: unfold them and go to the field.
    for (const details of form.querySelectorAll("details")) {
      const invalid = details.querySelector('[aria-invalid="true"]');
      if (invalid && !details.open) {
        details.open = true;
        invalid.focus();
      }
    }
  }

  /** The request body, or {errors} the browser found. */
  function read() {
    const settingsRead = config.read();
    const secretsRead = credentials.read();
    const scheduleRead = schedule.read();
    // Editing, empty credentials keep the stored ones: their "Required." does not apply.
    const keepSecrets = editing && !Object.keys(secretsRead.value || {}).length;
    const errors = Object.assign({}, settingsRead.errors, keepSecrets ? {} : secretsRead.errors,
      scheduleRead.errors || {});
    if (!name.control.value.trim()) errors.name = ["Required."];
    if (Object.keys(errors).length) return { errors };
    const body = { name: name.control.value.trim(), config: settingsRead.value, schedule: scheduleRead.value };
    if (!keepSecrets) body.credentials = secretsRead.value;
    if (!editing) {
      if (body.schedule === null) delete body.schedule;
      return { body: { connector: connector.control.value, ...body } };
    }
    if (same(body.config, configAsShown)) delete body.config;
    for (const key of ["name", "schedule"]) if (same(body[key], connection[key])) delete body[key];
    return { body };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { body, errors } = read();
    if (errors) {
      show({ message: "Some fields need attention." }, errors);
      return;
    }
    if (editing && !Object.keys(body).length) {
      onCancel();
      return;
    }
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const envelope = editing
        ? await api.patch(`/connections/${encodeURIComponent(connection.id)}`, body)
        : await api.post("/connections", body);
      form.reset();
      showConnector(); // fresh fields: the typed credentials are gone from the page
      onSaved(envelope);
    } catch (err) {
      show(err);
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });

  if (!connectors.length) return h("p", { class: "muted", text: "No connectors are installed on this hub." });
  showConnector();
  return form;
}
