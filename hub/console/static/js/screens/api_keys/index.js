// API keys (admins and owners, with their own login): create one — its
// secret is shown once, with a Copy button — and revoke one. The list shows
// each key's public prefix and when it was last used, never the secret.

import { api } from "../../api.js";
import { h, timeEl } from "../../dom.js";
import { field, formAlert, onSubmit } from "../../forms.js";
import { actionButton, listCard, panelSlot, secretBox } from "../../lists.js";
import { isAdmin } from "../../roles.js";

function createForm(onCreated) {
  const name = field({ path: "name", label: "Name", required: true,
    hint: "What the key is for, e.g. the system that uses it.", attrs: { maxlength: 200, autocomplete: "off" } });
  const role = field({ path: "role", label: "Role", control: "select", required: true,
    hint: "A member key reads and runs jobs; an admin key can also manage webhooks and users.",
    options: [{ value: "member", label: "member" }, { value: "admin", label: "admin" }] });
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Create key" });
  const form = h("form", { class: "api-key-form", novalidate: true, "aria-labelledby": "new-key-title" },
    formAlert(), name, role, h("div", { class: "form-actions" }, button));
  onSubmit(form, button, async () => {
    const envelope = await api.post("/api-keys", { name: name.control.value.trim(), role: role.control.value });
    form.reset();
    onCreated(envelope);
  });
  return form;
}

async function renderApiKeys(main, _params, ctx) {
  const slot = panelSlot();
  const list = listCard({ id: "api-keys", title: "Keys", caption: "API keys, newest first",
    columns: ["Key", "Role", "Created", "Last used"], emptyText: "No API keys yet.", noun: "key",
    path: "/api-keys", buildRow });
  const load = list.load;
  const form = createForm((envelope) => {
    ctx.notify(envelope.message);
    const key = envelope.data;
    slot.open(secretBox({ title: "New API key", about: `For ${key.name}; send it as the X-API-Key header.`,
      value: key.key, onDone: () => slot.close() }), form.querySelector("input"));
    load();
  });

  main.append(h("h1", { text: "API keys" }), slot,
    h("div", { class: "jobs-layout" },
      h("section", { class: "card", "aria-labelledby": "new-key-title" },
        h("h2", { id: "new-key-title", text: "New key" }), form),
      list.section));

  function buildRow(key) {
    return h("tr", { dataset: { keyId: key.id } },
      h("th", { scope: "row", "data-label": "Key" }, h("span", { class: "key-name", text: key.name }),
        h("span", { class: "muted job-id", text: `${key.prefix}…` })),
      h("td", { "data-label": "Role", text: key.role }),
      h("td", { "data-label": "Created" }, timeEl(key.created_at)),
      h("td", { "data-label": "Last used" }, timeEl(key.last_used_at)),
      h("td", { class: "actions-cell" }, actionButton({ text: "Revoke", label: `Revoke ${key.name}`,
        cls: "key-revoke", confirm: `Revoke ${key.name}? Calls with it stop working at once.`,
        onError: list.showError,
        run: async () => {
          ctx.notify((await api.delete(`/api-keys/${encodeURIComponent(key.id)}`)).message);
          await load();
        } })));
  }

  await load();
}

export default {
  id: "api-keys",
  visible: isAdmin,
  nav: [{ label: "API keys", href: "#/api-keys" }],
  routes: [{ path: /^api-keys$/, title: "API keys", render: renderApiKeys }],
};
