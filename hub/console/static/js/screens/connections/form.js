// "New connection": pick an installed connector (GET /connectors), fill the
// config and credentials forms generated from its JSON schemas, POST
// /connections. Credentials are password inputs, never prefilled; the hub
// stores them encrypted and never returns them, and the form forgets them
// once the connection is created.

import { api } from "../../api.js";
import { codeText, h, replaceChildren, uid } from "../../dom.js";
import { clearErrors, field, formAlert, schemaFields, showError } from "../../forms.js";

function group(path, legend, hint) {
  return h("fieldset", { class: "connector-fields", dataset: { field: path } },
    h("legend", { text: legend }),
    hint ? h("p", { class: "hint", text: hint }) : null,
    h("p", { class: "field-error", id: uid(`${path}-error`), hidden: true }));
}

/** `onCreated(connection, message)` gets the 201 answer. */
export function createForm(connectors, onCreated) {
  const alert = formAlert();
  const connector = field({ path: "connector", label: "Connector", control: "select", required: true,
    options: connectors.map((c) => ({ value: c.name, label: c.title || c.name })) });
  const description = h("p", { class: "hint connector-description" });
  const name = field({ path: "name", label: "Name", required: true, attrs: { maxlength: 200, autocomplete: "off" } });
  const settings = group("config", "Settings");
  const secrets = group("credentials", "Credentials", "Stored encrypted; never shown again, not even to you.");
  const every = field({ path: "schedule.interval_seconds", label: "Sync every (seconds)", type: "number",
    hint: "Optional, at least 60. Empty: only when you press “Sync now”.",
    attrs: { min: 60, step: 1, inputmode: "numeric" } });
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Create connection" });
  const form = h("form", { class: "connection-form", novalidate: true, "aria-labelledby": "new-connection-title" },
    alert, connector, description, name, settings, secrets, every, h("div", { class: "form-actions" }, button));

  let config = null;
  let credentials = null;
  const settingsBody = h("div");
  const secretsBody = h("div");
  settings.append(settingsBody);
  secrets.append(secretsBody);

  function showConnector() {
    const chosen = connectors.find((c) => c.name === connector.control.value);
    replaceChildren(description, chosen ? codeText(chosen.description) : null);
    config = schemaFields(chosen ? chosen.config_schema : {}, "config",
      { title: "Settings", description: "A JSON object for the connector's config_schema." });
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

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const read = [config.read(), credentials.read()];
    const errors = Object.assign({}, ...read.map((r) => r.errors));
    if (!name.control.value.trim()) errors.name = ["Required."];
    if (every.control.validity.badInput) errors.schedule = { interval_seconds: ["Enter a number."] };
    if (Object.keys(errors).length) {
      show({ message: "Some fields need attention." }, errors);
      return;
    }
    const body = { connector: connector.control.value, name: name.control.value.trim(),
      config: read[0].value, credentials: read[1].value };
    if (every.control.value !== "") body.schedule = { interval_seconds: Number(every.control.value) };
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const envelope = await api.post("/connections", body);
      form.reset();
      showConnector(); // fresh fields: the typed credentials are gone from the page
      onCreated(envelope.data, envelope.message);
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
