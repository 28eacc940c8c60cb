// The audit log (admins and owners): who did what, when and from which
// request, newest first, a page at a time, filtered as GET /audit-events
// allows (action, object type, object id: exact values).

import { h, timeEl } from "../../dom.js";
import { field } from "../../forms.js";
import { listCard } from "../../lists.js";
import { isAdmin } from "../../roles.js";

const PER_PAGE = 25;

function actor(event) {
  if (event.actor_user_id) return `user ${event.actor_user_id.slice(0, 8)}`;
  if (event.actor_api_key_id) return `API key ${event.actor_api_key_id.slice(0, 8)}`;
  return "the hub";
}

function eventRow(event) {
  const details = Object.keys(event.details || {}).length
    ? h("details", { class: "audit-details" }, h("summary", { text: "Details" }),
      h("code", { class: "record-data", text: JSON.stringify(event.details) }))
    : null;
  return h("tr", { dataset: { auditId: event.id } },
    h("th", { scope: "row", "data-label": "Action", class: "audit-action", text: event.action }),
    h("td", { "data-label": "Object" }, h("span", { text: event.object_type }),
      event.object_id ? h("span", { class: "muted job-id", text: event.object_id }) : null),
    h("td", { "data-label": "By" }, h("span", { text: actor(event) }),
      event.ip ? h("span", { class: "muted job-id", text: event.ip }) : null),
    h("td", { "data-label": "When" }, timeEl(event.created_at),
      event.request_id ? h("span", { class: "muted job-id", title: "Request id", text: event.request_id }) : null),
    h("td", { class: "actions-cell" }, details));
}

async function renderAudit(main) {
  const filters = ["action", "object_type", "object_id"].map((name) => field({ path: name,
    label: { action: "Action", object_type: "Object type", object_id: "Object id" }[name],
    hint: { action: "e.g. user.created", object_type: "e.g. webhook_endpoint", object_id: "An id, exactly" }[name],
    attrs: { autocomplete: "off", spellcheck: "false", maxlength: name === "object_id" ? 64 : 100 } }));
  const apply = h("button", { type: "submit", class: "btn", text: "Filter" });
  const form = h("form", { class: "filters audit-filters", "aria-label": "Filter the audit log" },
    filters, h("div", { class: "form-actions" }, apply));
  const list = listCard({ id: "audit", title: "Events", caption: "Audit events, newest first",
    columns: ["Action", "Object", "By", "When"], emptyText: "No audit events match.", noun: "event",
    head: form, path: "/audit-events", perPage: PER_PAGE, paged: true, buildRow: eventRow,
    params: () => Object.fromEntries(filters.map((f) => [f.control.name, f.control.value.trim()])) });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    list.load({ first: true });
  });
  main.append(h("h1", { text: "Audit log" }), list.section);
  await list.load();
}

export default {
  id: "audit",
  visible: isAdmin,
  nav: [{ label: "Audit log", href: "#/audit" }],
  routes: [{ path: /^audit$/, title: "Audit log", render: renderAudit }],
};
