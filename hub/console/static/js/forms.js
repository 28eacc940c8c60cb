// Form building blocks shared by every screen: labelled fields with a hint
// and an error slot, forms generated from a JSON Schema, and the display of
// an API error — the envelope's message on top, each field error beside its
// field (details.fields.json.<field>, nested for nested objects).

import { codeText, h, replaceChildren, uid } from "./dom.js";

/**
 * A labelled control inside `<div class="field" data-field="<path>">`.
 * `control`: "input" (default), "select" (with `options: [{value, label}]`)
 * or "textarea". Returns the wrapper; the control is `wrapper.control`.
 */
export function field({ path, label, type = "text", required = false, hint, attrs = {},
  control = "input", options = [] }) {
  const id = uid("f");
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const common = { id, name: path, required, "aria-describedby": hintId, ...attrs };
  let el;
  if (control === "select") {
    el = h("select", common,
      options.map((o) => h("option", { value: o.value, selected: o.selected, text: o.label })));
  } else if (control === "textarea") {
    el = h("textarea", { rows: 3, ...common });
  } else {
    el = h("input", { type, ...common });
  }
  const labelEl = h("label", { for: id }, label, required ? h("span", { class: "req", "aria-hidden": "true", text: " *" }) : null);
  const wrapper = h("div", { class: type === "checkbox" ? "field field-check" : "field", dataset: { field: path } },
    type === "checkbox" ? [el, labelEl] : [labelEl, el],
    hint ? h("p", { class: "hint", id: hintId }, codeText(hint)) : null,
    h("p", { class: "field-error", id: errorId, hidden: true }));
  wrapper.control = el;
  return wrapper;
}

/**
 * Run `action()` on submit: errors cleared first, `button` disabled and the form
 * busy while it runs, and an error shown in the form (field errors beside their
 * fields).
 */
export function onSubmit(form, button, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      await action();
    } catch (err) {
      showError(form, err);
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
}

/** An alert box for a form's overall error; put it at the top of the form. */
export function formAlert() {
  return h("div", { class: "form-error", role: "alert", hidden: true });
}

/** Show `messages` under the field (or hide the slot when empty). */
export function setFieldError(wrapper, messages) {
  const slot = wrapper.querySelector(":scope > .field-error");
  // A fieldset's error (e.g. the payload as a whole) describes the group.
  const group = wrapper.tagName === "FIELDSET";
  const control = group ? wrapper : wrapper.control || wrapper.querySelector("input, select, textarea");
  const text = (messages || []).join(" ");
  slot.textContent = text;
  slot.hidden = !text;
  if (!control) return;
  const described = new Set((control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
  if (text) {
    described.add(slot.id);
    if (!group) control.setAttribute("aria-invalid", "true");
  } else {
    described.delete(slot.id);
    if (!group) control.removeAttribute("aria-invalid");
  }
  if (described.size) control.setAttribute("aria-describedby", [...described].join(" "));
  else control.removeAttribute("aria-describedby");
}

/** Remove every error shown in `form`. */
export function clearErrors(form) {
  for (const wrapper of form.querySelectorAll(".field, fieldset[data-field]")) {
    if (wrapper.querySelector(":scope > .field-error")) setFieldError(wrapper, []);
  }
  const alert = form.querySelector(".form-error");
  if (alert) {
    alert.replaceChildren();
    alert.hidden = true;
  }
}

/** [[path, messages]] from the hub's nested field errors; `_schema` means the object itself. */
export function flattenFieldErrors(errors, prefix = "") {
  const out = [];
  for (const [key, value] of Object.entries(errors || {})) {
    const path = key === "_schema" ? prefix : prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(value)) out.push([path, value.map(String)]);
    else if (value && typeof value === "object") out.push(...flattenFieldErrors(value, path));
    else out.push([path, [String(value)]]);
  }
  return out;
}

/**
 * Show an error in `form`: the message in the form's alert, field errors
 * beside their fields; errors without a field on this form are listed in the
 * alert. Focus goes to the first invalid field, else to the alert.
 */
export function showError(form, err, fieldErrors = err && err.fieldErrors) {
  clearErrors(form);
  const alert = form.querySelector(".form-error");
  const unplaced = [];
  let first = null;
  for (const [path, messages] of flattenFieldErrors(fieldErrors)) {
    const wrapper = form.querySelector(`[data-field="${CSS.escape(path)}"]`);
    if (wrapper && wrapper.querySelector(":scope > .field-error")) {
      setFieldError(wrapper, messages);
      first = first || wrapper.control || wrapper.querySelector("input, select, textarea");
    } else {
      unplaced.push(`${path || "request"}: ${messages.join(" ")}`);
    }
  }
  if (alert) {
    replaceChildren(alert, h("p", { text: (err && err.message) || "Something went wrong." }),
      unplaced.length ? h("ul", {}, unplaced.map((t) => h("li", { text: t }))) : null);
    alert.hidden = false;
  }
  const target = first || alert;
  if (target) target.focus();
}

// --- forms from JSON Schema -------------------------------------------------

// Words that read as initialisms in a label ("api_base" → "API base").
const INITIALISMS = new Set(["api", "id", "url", "uri", "csv", "json", "http", "https", "ssl", "tls"]);

function humanize(name) {
  const words = name.replace(/[_-]+/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").trim()
    .split(/\s+/).map((w) => (INITIALISMS.has(w.toLowerCase()) ? w.toUpperCase() : w)).join(" ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function mainType(prop) {
  const types = Array.isArray(prop.type) ? prop.type.filter((t) => t !== "null") : [prop.type];
  return types[0];
}

function rangeHint(prop) {
  const lo = prop.minimum ?? prop.exclusiveMinimum;
  const hi = prop.maximum ?? prop.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined) return `From ${lo} to ${hi}.`;
  if (lo !== undefined) return `At least ${lo}.`;
  if (hi !== undefined) return `At most ${hi}.`;
  return "";
}

function propertyField(path, name, prop, required, secret = false) {
  const label = prop.title || humanize(name);
  const type = mainType(prop);
  const hint = [prop.description, rangeHint(prop)].filter(Boolean).join(" ") || undefined;
  const base = { path, label, required, hint };
  let wrapper;
  let read;
  if (Array.isArray(prop.enum)) {
    const options = [...(required ? [] : [{ value: "", label: "—" }]),
      ...prop.enum.map((v) => ({ value: JSON.stringify(v), label: String(v), selected: v === prop.default }))];
    wrapper = field({ ...base, control: "select", options });
    read = (el) => (el.value === "" ? undefined : JSON.parse(el.value));
  } else if (type === "boolean") {
    wrapper = field({ ...base, type: "checkbox", required: false, attrs: { checked: prop.default === true } });
    read = (el) => el.checked;
  } else if (type === "integer" || type === "number") {
    wrapper = field({ ...base, type: "number", attrs: {
      inputmode: type === "integer" ? "numeric" : "decimal", step: type === "integer" ? "1" : "any",
      min: prop.minimum, max: prop.maximum, value: prop.default } });
    read = (el) => {
      if (el.validity.badInput) throw new Error("Enter a number.");
      return el.value === "" ? undefined : Number(el.value);
    };
  } else if (type === "string" && secret) {
    // A credential: typed, never prefilled, not offered to the password manager's autofill.
    wrapper = field({ ...base, type: "password", attrs: { maxlength: prop.maxLength,
      autocomplete: "new-password", spellcheck: "false" } });
    read = (el) => (el.value === "" ? undefined : el.value);
  } else if (type === "string") {
    const inputType = { email: "email", uri: "url" }[prop.format] || "text";
    wrapper = field({ ...base, type: inputType, attrs: { maxlength: prop.maxLength, value: prop.default } });
    read = (el) => (el.value === "" ? undefined : el.value);
  } else {
    // Objects, arrays and anything richer: JSON typed by hand, checked by the hub.
    wrapper = field({ ...base, label: `${label} (JSON)`, control: "textarea", attrs: { spellcheck: "false" } });
    if (prop.default !== undefined) wrapper.control.value = JSON.stringify(prop.default);
    read = (el) => {
      if (el.value.trim() === "") return undefined;
      try {
        return JSON.parse(el.value);
      } catch {
        throw new Error("Not valid JSON.");
      }
    };
  }
  return { name, wrapper, read: () => read(wrapper.control), required };
}

/**
 * Fields for an object described by `schema`, with paths `<prefix>.<name>`.
 * Returns {nodes, read()}; read() gives {value, errors} where errors are the
 * checks the browser can make (required, numbers, JSON) in the hub's shape.
 * Options: `secret` (string fields are password inputs, never prefilled),
 * `title` and `description` of the JSON box shown for a schema without fields,
 * `values` to start from (an object being edited) instead of the defaults.
 */
export function schemaFields(schema, prefix, { secret = false, title = "Payload",
  description = "JSON object matching the job type's schema.", values = null } = {}) {
  const props = schema && schema.type === "object" ? schema.properties : null;
  if (!props && schema && schema.type === "object" && schema.additionalProperties === false) {
    return { nodes: [], read: () => ({ value: {}, errors: {} }) }; // an object that takes nothing
  }
  if (!props || schema.oneOf || schema.anyOf || schema.allOf) {
    // A schema we do not turn into fields: the whole payload as JSON.
    const whole = propertyField(prefix, prefix, { type: "object", title, description,
      default: values ?? undefined }, false);
    return {
      nodes: [whole.wrapper],
      read() {
        try {
          return { value: whole.read() ?? {}, errors: {} };
        } catch (err) {
          return { value: null, errors: { [prefix]: [err.message] } };
        }
      },
    };
  }
  const required = new Set(schema.required || []);
  // Required fields first; otherwise the schema's order.
  const entries = Object.entries(props);
  const ordered = [...entries.filter(([n]) => required.has(n)), ...entries.filter(([n]) => !required.has(n))];
  const start = (name, prop) => (values && name in values ? { ...prop, default: values[name] } : prop);
  const fields = ordered.map(([name, prop]) =>
    propertyField(`${prefix}.${name}`, name, start(name, prop || {}), required.has(name), secret));
  return {
    nodes: fields.map((f) => f.wrapper),
    read() {
      const value = {};
      const errors = {};
      for (const f of fields) {
        try {
          const v = f.read();
          if (v !== undefined) value[f.name] = v;
          else if (f.required) errors[f.name] = ["Required."];
        } catch (err) {
          errors[f.name] = [err.message];
        }
      }
      return { value, errors: Object.keys(errors).length ? { [prefix]: errors } : {} };
    },
  };
}
