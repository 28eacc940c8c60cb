// Invitations (admins and owners): invite someone by email with a role, see
// who has not accepted yet, and revoke an invitation. The invitee follows the
// mailed link to #/accept-invitation (screens/account.js).

import { api, query } from "../api.js";
import { h, replaceChildren, timeEl } from "../dom.js";
import { field, formAlert, onSubmit } from "../forms.js";

const ROLES = [{ value: "member", label: "Member" }, { value: "admin", label: "Admin" },
  { value: "owner", label: "Owner (owners only)" }];

async function renderInvitations(main, _params, ctx) {
  const alert = formAlert();
  const email = field({ path: "email", label: "Email", type: "email", required: true,
    attrs: { autocapitalize: "none", spellcheck: "false" } });
  const role = field({ path: "role", label: "Role", control: "select", options: ROLES });
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Send invitation" });
  const form = h("form", { class: "invite-form", novalidate: true, "aria-labelledby": "invite-title" },
    alert, email, role, h("div", { class: "form-actions" }, button));
  const listAlert = formAlert();
  const tbody = h("tbody");
  const empty = h("p", { class: "muted empty", text: "No pending invitations.", hidden: true });
  const table = h("table", { class: "jobs-table invitations-table" },
    h("caption", { class: "sr-only", text: "Pending invitations, newest first" }),
    h("thead", {}, h("tr", {},
      ["Email", "Role", "Sent", "Expires"].map((t) => h("th", { scope: "col", text: t })),
      h("th", { scope: "col" }, h("span", { class: "sr-only", text: "Actions" })))),
    tbody);

  main.append(h("h1", { text: "Invitations" }),
    h("div", { class: "jobs-layout" },
      h("section", { class: "card", "aria-labelledby": "invite-title" },
        h("h2", { id: "invite-title", text: "Invite someone" }), form),
      h("section", { class: "card", "aria-labelledby": "pending-title" },
        h("h2", { id: "pending-title", text: "Pending" }),
        listAlert, h("div", { class: "table-wrap" }, table), empty)));

  onSubmit(form, button, async () => {
    const envelope = await api.post("/invitations",
      { email: email.control.value.trim(), role: role.control.value });
    form.reset();
    ctx.notify(envelope.message);
    await load();
  });

  function revoke(invitation) {
    return async (event) => {
      event.currentTarget.disabled = true;
      try {
        ctx.notify((await api.delete(`/invitations/${encodeURIComponent(invitation.id)}`)).message);
        await load();
        email.control.focus();
      } catch (err) {
        showListError(err);
      }
    };
  }

  function buildRow(invitation) {
    return h("tr", { dataset: { invitationId: invitation.id } },
      h("th", { scope: "row", "data-label": "Email", text: invitation.email }),
      h("td", { "data-label": "Role", text: invitation.role }),
      h("td", { "data-label": "Sent" }, timeEl(invitation.created_at)),
      h("td", { "data-label": "Expires" }, timeEl(invitation.expires_at)),
      h("td", { class: "actions-cell" }, h("button", { type: "button", class: "btn btn-small",
        "aria-label": `Revoke the invitation of ${invitation.email}`, text: "Revoke",
        onclick: revoke(invitation) })));
  }

  function showListError(err) {
    replaceChildren(listAlert, h("p", { text: err.message }));
    listAlert.hidden = false;
  }

  async function load() {
    listAlert.hidden = true;
    try {
      const envelope = await api.get(`/invitations${query({ per_page: 100 })}`);
      replaceChildren(tbody, envelope.data.map(buildRow));
    } catch (err) {
      showListError(err);
    }
    empty.hidden = tbody.children.length > 0;
    table.hidden = tbody.children.length === 0;
  }

  await load();
}

export default {
  id: "invitations",
  visible: (ctx) => ["owner", "admin"].includes(ctx.user.role),
  nav: [{ label: "Invitations", href: "#/invitations" }],
  routes: [{ path: /^invitations$/, title: "Invitations", render: renderInvitations }],
};
