// Webhook endpoints (admins and owners): the list with enable/disable, a
// create form whose answer shows the signing secret once, and each
// endpoint's delivery log with replay (deliveries.js).

import { api, query } from "../../api.js";
import { h, replaceChildren, timeEl, uid } from "../../dom.js";
import { clearErrors, field, formAlert, showError } from "../../forms.js";
import { renderDeliveries } from "./deliveries.js";
import { enabledBadge, EVENT_TYPES } from "./widgets.js";

function createForm(onCreated) {
  const alert = formAlert();
  const url = field({ path: "url", label: "URL", type: "url", required: true,
    hint: "Where the hub POSTs events (http or https).", attrs: { inputmode: "url", maxlength: 2048 } });
  const description = field({ path: "description", label: "Description", attrs: { maxlength: 500 } });
  const errorId = uid("events-error");
  const events = h("fieldset", { class: "events", dataset: { field: "events" } },
    h("legend", { text: "Events" }),
    h("p", { class: "field-error", id: errorId, hidden: true }),
    EVENT_TYPES.map((name) => field({ path: `event.${name}`, label: name, type: "checkbox",
      attrs: { value: name, class: "event-choice" } })));
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Create endpoint" });
  const form = h("form", { class: "endpoint-form", novalidate: true, "aria-labelledby": "new-endpoint-title" },
    alert, url, events, description, h("div", { class: "form-actions" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = {
      url: url.control.value.trim(),
      events: [...form.querySelectorAll(".event-choice:checked")].map((el) => el.value),
      description: description.control.value,
    };
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const envelope = await api.post("/webhook-endpoints", body);
      form.reset();
      onCreated(envelope.data, envelope.message);
    } catch (err) {
      showError(form, err);
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}

/** The secret, shown once in the page until dismissed; never stored. */
function secretBox(endpoint, onDone) {
  const code = h("code", { class: "secret-value", text: endpoint.secret });
  const done = h("button", { type: "button", class: "btn", text: "I have copied it",
    onclick: () => onDone() });
  const box = h("div", { class: "card secret-box", role: "region", "aria-labelledby": "secret-title", tabindex: "-1" },
    h("h2", { id: "secret-title", text: "Signing secret" }),
    h("p", { text: `For ${endpoint.url}. Copy it now: it is not shown again.` }),
    h("p", {}, code),
    h("div", { class: "form-actions" }, done));
  return box;
}

async function renderEndpoints(main, _params, ctx) {
  const listAlert = formAlert();
  const tbody = h("tbody");
  const summary = h("p", { class: "muted list-summary", "aria-live": "polite" });
  const empty = h("p", { class: "muted empty", text: "No webhook endpoints yet.", hidden: true });
  const secretSlot = h("div", { class: "secret-slot" });
  const table = h("table", { class: "jobs-table endpoints-table" },
    h("caption", { class: "sr-only", text: "Webhook endpoints, newest first" }),
    h("thead", {}, h("tr", {},
      ["Endpoint", "Events", "State", "Created"].map((t) => h("th", { scope: "col", text: t })),
      h("th", { scope: "col" }, h("span", { class: "sr-only", text: "Actions" })))),
    tbody);

  main.append(
    h("h1", { text: "Webhook endpoints" }),
    secretSlot,
    h("div", { class: "jobs-layout" },
      h("section", { class: "card", "aria-labelledby": "new-endpoint-title" },
        h("h2", { id: "new-endpoint-title", text: "New endpoint" }),
        createForm((endpoint, message) => {
          ctx.notify(message);
          const box = secretBox(endpoint, () => {
            box.remove();
            main.querySelector(".endpoint-form input").focus();
          });
          replaceChildren(secretSlot, box);
          box.focus();
          load();
        })),
      h("section", { class: "card", "aria-labelledby": "endpoint-list-title" },
        h("h2", { id: "endpoint-list-title", text: "Endpoints" }),
        listAlert, summary, h("div", { class: "table-wrap" }, table), empty)));

  function showListError(err) {
    replaceChildren(listAlert, h("p", { text: err.message }));
    listAlert.hidden = false;
  }

  function toggle(endpoint) {
    return async (event) => {
      const btn = event.currentTarget;
      btn.disabled = true;
      try {
        const envelope = await api.patch(`/webhook-endpoints/${encodeURIComponent(endpoint.id)}`,
          { enabled: !endpoint.enabled });
        ctx.notify(envelope.message);
        tbody.querySelector(`tr[data-endpoint-id="${CSS.escape(endpoint.id)}"]`)
          .replaceWith(buildRow(envelope.data));
        tbody.querySelector(`tr[data-endpoint-id="${CSS.escape(endpoint.id)}"] .endpoint-toggle`).focus();
      } catch (err) {
        showListError(err);
        btn.disabled = false;
      }
    };
  }

  function buildRow(endpoint) {
    const name = endpoint.description || endpoint.url;
    return h("tr", { dataset: { endpointId: endpoint.id } },
      h("th", { scope: "row", "data-label": "Endpoint" },
        h("a", { href: `#/webhooks/${encodeURIComponent(endpoint.id)}`, class: "endpoint-url", text: endpoint.url }),
        endpoint.description ? h("span", { class: "muted job-id", text: endpoint.description }) : null),
      h("td", { "data-label": "Events", text: endpoint.events.join(", ") }),
      h("td", { "data-label": "State" }, enabledBadge(endpoint),
        endpoint.disabled_reason ? h("span", { class: "muted job-id", text: endpoint.disabled_reason }) : null),
      h("td", { "data-label": "Created" }, timeEl(endpoint.created_at)),
      h("td", { class: "actions-cell" }, h("span", { class: "actions" },
        h("button", { type: "button", class: "btn btn-small endpoint-toggle",
          "aria-label": `${endpoint.enabled ? "Disable" : "Enable"} ${name}`,
          text: endpoint.enabled ? "Disable" : "Enable", onclick: toggle(endpoint) }),
        h("a", { class: "btn btn-small", href: `#/webhooks/${encodeURIComponent(endpoint.id)}`,
          "aria-label": `Deliveries of ${name}`, text: "Deliveries" }))));
  }

  async function load() {
    listAlert.hidden = true;
    try {
      const envelope = await api.get(`/webhook-endpoints${query({ per_page: 100 })}`);
      replaceChildren(tbody, envelope.data.map(buildRow));
      const n = (envelope.meta.pagination || {}).total ?? envelope.data.length;
      summary.textContent = `${n} endpoint${n === 1 ? "" : "s"}`;
    } catch (err) {
      showListError(err);
    }
    empty.hidden = tbody.children.length > 0;
    table.hidden = tbody.children.length === 0;
  }

  await load();
}

export default {
  id: "webhooks",
  visible: (ctx) => ["owner", "admin"].includes(ctx.user.role),
  nav: [{ label: "Webhooks", href: "#/webhooks" }],
  routes: [
    { path: /^webhooks$/, title: "Webhook endpoints", render: renderEndpoints },
    { path: /^webhooks\/([0-9a-fA-F-]{36})$/, title: "Webhook deliveries", render: renderDeliveries },
  ],
};
