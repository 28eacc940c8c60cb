// Webhook endpoints (admins and owners): the list with enable/disable, edit,
// rotate secret, send a test and delete; a create form whose answer shows the
// signing secret once; and each endpoint's delivery log with replay
// (deliveries.js).

import { api } from "../../api.js";
import { h, randomId, timeEl, uid } from "../../dom.js";
import { field, formAlert, onSubmit } from "../../forms.js";
import { actionButton, listCard, panelSlot, secretBox } from "../../lists.js";
import { isAdmin } from "../../roles.js";
import { renderDeliveries } from "./deliveries.js";
import { enabledBadge, EVENT_TYPES } from "./widgets.js";

/**
 * The endpoint form: empty to create one (POST), or filled from `endpoint`
 * to change it (PATCH). `onSaved(envelope)` gets the hub's answer.
 */
function endpointForm({ endpoint = null, titleId, onSaved, onCancel = null }) {
  const url = field({ path: "url", label: "URL", type: "url", required: true,
    hint: "Where the hub POSTs events (http or https).",
    attrs: { inputmode: "url", maxlength: 2048, value: endpoint ? endpoint.url : null } });
  const description = field({ path: "description", label: "Description",
    attrs: { maxlength: 500, value: endpoint ? endpoint.description : null } });
  const events = h("fieldset", { class: "events", dataset: { field: "events" } },
    h("legend", { text: "Events" }),
    h("p", { class: "field-error", id: uid("events-error"), hidden: true }),
    EVENT_TYPES.map((name) => field({ path: `event.${name}`, label: name, type: "checkbox",
      attrs: { value: name, class: "event-choice", checked: endpoint ? endpoint.events.includes(name) : false } })));
  const button = h("button", { type: "submit", class: "btn btn-primary",
    text: endpoint ? "Save changes" : "Create endpoint" });
  const form = h("form", { class: endpoint ? "endpoint-form endpoint-edit" : "endpoint-form",
    novalidate: true, "aria-labelledby": titleId },
  formAlert(), url, events, description, h("div", { class: "form-actions" }, button,
    onCancel ? h("button", { type: "button", class: "btn", text: "Cancel", onclick: () => onCancel() }) : null));
  onSubmit(form, button, async () => {
    const body = {
      url: url.control.value.trim(),
      events: [...form.querySelectorAll(".event-choice:checked")].map((el) => el.value),
      description: description.control.value,
    };
    const envelope = endpoint
      ? await api.patch(`/webhook-endpoints/${encodeURIComponent(endpoint.id)}`, body)
      : await api.post("/webhook-endpoints", body);
    if (!endpoint) form.reset();
    onSaved(envelope);
  });
  return form;
}

function editPanel(endpoint, { onSaved, onCancel }) {
  const titleId = uid("edit-endpoint");
  return h("section", { class: "card", "aria-labelledby": titleId },
    h("h2", { id: titleId, text: `Edit ${endpoint.description || endpoint.url}` }),
    endpointForm({ endpoint, titleId, onSaved, onCancel }));
}

async function renderEndpoints(main, _params, ctx) {
  const slot = panelSlot();
  const list = listCard({ id: "endpoints", title: "Endpoints", caption: "Webhook endpoints, newest first",
    columns: ["Endpoint", "Events", "State", "Created"], emptyText: "No webhook endpoints yet.", noun: "endpoint",
    path: "/webhook-endpoints", buildRow });
  const load = list.load;
  // Dismissed, the secret gives focus back to what the user was doing (opener).
  const showSecret = (endpoint, title, opener) => slot.open(secretBox({ title, about: `For ${endpoint.url}.`,
    value: endpoint.secret, onDone: () => slot.close() }), opener);

  main.append(
    h("h1", { text: "Webhook endpoints" }),
    slot,
    h("div", { class: "jobs-layout" },
      h("section", { class: "card", "aria-labelledby": "new-endpoint-title" },
        h("h2", { id: "new-endpoint-title", text: "New endpoint" }),
        endpointForm({ titleId: "new-endpoint-title", onSaved: (envelope) => {
          ctx.notify(envelope.message);
          showSecret(envelope.data, "Signing secret", main.querySelector(".endpoint-form input"));
          load();
        } })),
      list.section));

  /** Run a row's action, then show what the hub answered and put the row back as it now is. */
  function rowAction(endpoint, { text, label, cls, confirm, send }) {
    return actionButton({ text, label, cls, confirm, onError: list.showError,
      run: async () => {
        const envelope = await send(`/webhook-endpoints/${encodeURIComponent(endpoint.id)}`);
        ctx.notify(envelope.message);
        await load();
        const again = list.tbody.querySelector(`tr[data-endpoint-id="${CSS.escape(endpoint.id)}"] .${cls}`);
        if (envelope.data && envelope.data.secret) showSecret(envelope.data, "New signing secret", again);
        else if (again) again.focus();
      } });
  }

  function buildRow(endpoint) {
    const name = endpoint.description || endpoint.url;
    const href = `#/webhooks/${encodeURIComponent(endpoint.id)}`;
    return h("tr", { dataset: { endpointId: endpoint.id } },
      h("th", { scope: "row", "data-label": "Endpoint" },
        h("a", { href, class: "endpoint-url", text: endpoint.url }),
        endpoint.description ? h("span", { class: "muted job-id", text: endpoint.description }) : null),
      h("td", { "data-label": "Events", text: endpoint.events.join(", ") }),
      h("td", { "data-label": "State" }, enabledBadge(endpoint),
        endpoint.disabled_reason ? h("span", { class: "muted job-id", text: endpoint.disabled_reason }) : null),
      h("td", { "data-label": "Created" }, timeEl(endpoint.created_at)),
      h("td", { class: "actions-cell" }, h("span", { class: "actions" },
        rowAction(endpoint, { text: endpoint.enabled ? "Disable" : "Enable", cls: "endpoint-toggle",
          label: `${endpoint.enabled ? "Disable" : "Enable"} ${name}`,
          send: (path) => api.patch(path, { enabled: !endpoint.enabled }) }),
        h("button", { type: "button", class: "btn btn-small endpoint-edit-open", "aria-label": `Edit ${name}`,
          text: "Edit", onclick: () => slot.open(editPanel(endpoint, {
            onSaved: (envelope) => {
              ctx.notify(envelope.message);
              slot.close();
              load();
            },
            onCancel: () => slot.close(),
          })) }),
        endpoint.enabled ? rowAction(endpoint, { text: "Send test", label: `Send a test event to ${name}`,
          cls: "endpoint-test",
          send: (path) => api.post(`${path}/test`, undefined, { headers: { "Idempotency-Key": randomId() } }) })
          : null,
        rowAction(endpoint, { text: "Rotate secret", label: `Rotate the secret of ${name}`, cls: "endpoint-rotate",
          confirm: `Rotate the signing secret of ${name}? The old one keeps signing for a grace period.`,
          send: (path) => api.post(`${path}/rotate-secret`) }),
        rowAction(endpoint, { text: "Delete", label: `Delete ${name}`, cls: "endpoint-delete",
          confirm: `Delete ${name} and its delivery log? This cannot be undone.`,
          send: (path) => api.delete(path) }),
        h("a", { class: "btn btn-small", href, "aria-label": `Deliveries of ${name}`, text: "Deliveries" }))));
  }

  await load();
}

export default {
  id: "webhooks",
  visible: isAdmin,
  nav: [{ label: "Webhooks", href: "#/webhooks" }],
  routes: [
    { path: /^webhooks$/, title: "Webhook endpoints", render: renderEndpoints },
    { path: /^webhooks\/([0-9a-fA-F-]{36})$/, title: "Webhook deliveries", render: renderDeliveries },
  ],
};
