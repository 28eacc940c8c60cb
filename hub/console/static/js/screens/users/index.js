// Users of the tenant (admins and owners): add one, change a user's name,
// role or active flag, remove one. Only an owner may make an owner; the hub
// refuses (409) a change that would leave the tenant without an active owner.

import { api } from "../../api.js";
import { h, timeEl } from "../../dom.js";
import { field, formAlert, onSubmit } from "../../forms.js";
import { actionButton, listCard, panelSlot } from "../../lists.js";
import { isAdmin } from "../../roles.js";

const PER_PAGE = 50;

/** The roles `ctx.user` may give: an owner any, an admin admin or member. */
function rolesFor(ctx) {
  return ctx.user.role === "owner" ? ["member", "admin", "owner"] : ["member", "admin"];
}

function roleField(ctx, current = "member") {
  const roles = rolesFor(ctx);
  if (!roles.includes(current)) roles.push(current); // an admin sees an owner's role, unchangeable
  return field({ path: "role", label: "Role", control: "select", required: true,
    options: roles.map((r) => ({ value: r, label: r, selected: r === current })) });
}

function addForm(ctx, onAdded) {
  const email = field({ path: "email", label: "Email", type: "email", required: true,
    attrs: { autocomplete: "off", autocapitalize: "none", spellcheck: "false", maxlength: 320 } });
  const name = field({ path: "name", label: "Name", required: true, attrs: { maxlength: 200, autocomplete: "off" } });
  const password = field({ path: "password", label: "Password", type: "password", required: true,
    hint: "At least 10 characters. Give it to them another way; they can change it.",
    attrs: { autocomplete: "new-password", minlength: 10 } });
  const role = roleField(ctx);
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Add user" });
  const form = h("form", { class: "user-form", novalidate: true, "aria-labelledby": "new-user-title" },
    formAlert(), email, name, password, role, h("div", { class: "form-actions" }, button));
  onSubmit(form, button, async () => {
    const envelope = await api.post("/users", { email: email.control.value.trim(), name: name.control.value.trim(),
      password: password.control.value, role: role.control.value });
    form.reset();
    onAdded(envelope);
  });
  return form;
}

/** Edit name, role and active flag; only what changed is sent. */
function editForm(ctx, user, { onSaved, onCancel }) {
  const name = field({ path: "name", label: "Name", required: true, attrs: { maxlength: 200, value: user.name } });
  const role = roleField(ctx, user.role);
  const active = field({ path: "is_active", label: "Active (may log in)", type: "checkbox",
    attrs: { checked: user.is_active } });
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Save" });
  const titleId = `edit-user-${user.id}`;
  const form = h("form", { class: "card user-edit", novalidate: true, "aria-labelledby": titleId },
    h("h2", { id: titleId, text: `Edit ${user.name}` }),
    h("p", { class: "muted", text: user.email }),
    formAlert(), name, role, active,
    h("div", { class: "form-actions" }, button,
      h("button", { type: "button", class: "btn", text: "Cancel", onclick: () => onCancel() })));
  onSubmit(form, button, async () => {
    const changes = {};
    if (name.control.value.trim() !== user.name) changes.name = name.control.value.trim();
    if (role.control.value !== user.role) changes.role = role.control.value;
    if (active.control.checked !== user.is_active) changes.is_active = active.control.checked;
    if (!Object.keys(changes).length) return onCancel();
    return onSaved(await api.patch(`/users/${encodeURIComponent(user.id)}`, changes));
  });
  return form;
}

async function renderUsers(main, _params, ctx) {
  const slot = panelSlot();
  const list = listCard({ id: "users", title: "People", caption: "Users of the tenant, oldest first",
    columns: ["User", "Role", "State", "Last login"], emptyText: "No users.", noun: "user",
    path: "/users", perPage: PER_PAGE, paged: true, buildRow });
  const load = list.load;

  main.append(h("h1", { text: "Users" }), slot,
    h("div", { class: "jobs-layout" },
      h("section", { class: "card", "aria-labelledby": "new-user-title" },
        h("h2", { id: "new-user-title", text: "Add a user" }),
        addForm(ctx, (envelope) => {
          ctx.notify(envelope.message);
          load();
        })),
      list.section));

  function buildRow(user) {
    const you = user.id === ctx.user.id;
    const label = `${user.name}${you ? " (you)" : ""}`;
    return h("tr", { dataset: { userId: user.id } },
      h("th", { scope: "row", "data-label": "User" }, h("span", { class: "user-name", text: label }),
        h("span", { class: "muted job-id", text: user.email })),
      h("td", { "data-label": "Role", class: "user-role", text: user.role }),
      h("td", { "data-label": "State" }, h("span", {
        class: `status ${user.is_active ? "status-succeeded" : "status-cancelled"} user-state`,
        text: user.is_active ? "active" : "inactive" })),
      h("td", { "data-label": "Last login" }, timeEl(user.last_login_at)),
      h("td", { class: "actions-cell" }, h("span", { class: "actions" },
        h("button", { type: "button", class: "btn btn-small user-edit-open", "aria-label": `Edit ${user.name}`,
          text: "Edit", onclick: () => slot.open(editForm(ctx, user, {
            onSaved: async (envelope) => {
              ctx.notify(envelope.message);
              slot.close();
              await load();
              const again = list.tbody.querySelector(`tr[data-user-id="${CSS.escape(user.id)}"] .user-edit-open`);
              if (again) again.focus();
            },
            onCancel: () => slot.close(),
          })) }),
        you ? null : actionButton({ text: "Delete", label: `Delete ${user.name}`, cls: "user-delete",
          confirm: `Delete ${user.name} (${user.email})? This cannot be undone.`,
          onError: list.showError,
          run: async () => {
            ctx.notify((await api.delete(`/users/${encodeURIComponent(user.id)}`)).message);
            await load();
          } }))));
  }

  await load();
}

export default {
  id: "users",
  visible: isAdmin,
  nav: [{ label: "Users", href: "#/users" }],
  routes: [{ path: /^users$/, title: "Users", render: renderUsers }],
};
