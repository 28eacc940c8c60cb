// Invitations (admins and owners): invite someone by email with a role, see
// who has not accepted yet, and revoke an invitation. The invitee follows the
// mailed link to #/accept-invitation (screens/account.js).

import { api } from "../api.js";
import { h, timeEl } from "../dom.js";
import { field, formAlert, onSubmit } from "../forms.js";
import { actionButton, listCard } from "../lists.js";
import { isAdmin } from "../roles.js";

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

  const list = listCard({
    id: "invitations", title: "Pending", caption: "Pending invitations, newest first",
    columns: ["Email", "Role", "Sent", "Expires"], emptyText: "No pending invitations.",
    noun: "pending invitation", path: "/invitations",
    buildRow: (invitation) => h("tr", { dataset: { invitationId: invitation.id } },
      h("th", { scope: "row", "data-label": "Email", text: invitation.email }),
      h("td", { "data-label": "Role", text: invitation.role }),
      h("td", { "data-label": "Sent" }, timeEl(invitation.created_at)),
      h("td", { "data-label": "Expires" }, timeEl(invitation.expires_at)),
      h("td", { class: "actions-cell" }, actionButton({
        text: "Revoke", label: `Revoke the invitation of ${invitation.email}`,
        onError: (err) => list.showError(err),
        run: async () => {
          ctx.notify((await api.delete(`/invitations/${encodeURIComponent(invitation.id)}`)).message);
          await list.load();
          email.control.focus();
        },
      }))),
  });

  main.append(h("h1", { text: "Invitations" }),
    h("div", { class: "jobs-layout" },
      h("section", { class: "card", "aria-labelledby": "invite-title" },
        h("h2", { id: "invite-title", text: "Invite someone" }), form),
      list.section));

  onSubmit(form, button, async () => {
    const envelope = await api.post("/invitations",
      { email: email.control.value.trim(), role: role.control.value });
    form.reset();
    ctx.notify(envelope.message);
    await list.load();
  });

  await list.load();
}

export default {
  id: "invitations",
  visible: isAdmin,
  nav: [{ label: "Invitations", href: "#/invitations" }],
  routes: [{ path: /^invitations$/, title: "Invitations", render: renderInvitations }],
};
