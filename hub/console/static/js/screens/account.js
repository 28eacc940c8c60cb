// The account screens anyone can open, most from a link in a mail the hub
// sent: "forgot password" (ask for a link), choosing a new password with it,
// confirming an email address, and accepting an invitation. The link's token
// is in the URL's fragment (#/reset-password?token=...), which the browser
// never sends to a server; it goes only into the API call.

import { api } from "../api.js";
import { h } from "../dom.js";
import { field, formAlert, onSubmit } from "../forms.js";
import { adopt } from "../session.js";

const PASSWORD_HINT = "At least 10 characters, and not easy to guess.";

function card(titleId, title, ...children) {
  return h("section", { class: "card login", "aria-labelledby": titleId },
    h("h1", { id: titleId, text: title }), ...children);
}

function done(message, linkText = "Go to the login") {
  return h("div", {},
    h("p", { class: "notice-inline", role: "status", text: message }),
    h("p", {}, h("a", { href: "#/jobs", text: linkText })));
}

/**
 * A form of `fields` whose submit runs `action(values)` (see forms.onSubmit);
 * `action` returns what replaces the form, or nothing.
 */
function actionForm({ titleId, fields, submitLabel, action }) {
  const alert = formAlert();
  const button = h("button", { type: "submit", class: "btn btn-primary", text: submitLabel });
  const form = h("form", { class: "login-form", novalidate: true, "aria-labelledby": titleId },
    alert, ...fields, h("div", { class: "form-actions" }, button));
  onSubmit(form, button, async () => {
    const next = await action(Object.fromEntries(fields.map((f) => [f.dataset.field, f.control.value])));
    if (next) form.replaceWith(next);
  });
  return form;
}

function emailField() {
  return field({ path: "email", label: "Email", type: "email", required: true,
    attrs: { autocomplete: "username", autocapitalize: "none", spellcheck: "false" } });
}

function newPasswordField(label = "New password") {
  return field({ path: "password", label, type: "password", required: true, hint: PASSWORD_HINT,
    attrs: { autocomplete: "new-password", minlength: 10, maxlength: 256 } });
}

function tokenFrom(params) {
  return new URLSearchParams(params[0] || "").get("token") || "";
}

function renderForgot(main) {
  main.append(card("forgot-title", "Forgot password",
    h("p", { text: "We will mail you a link to choose a new password." }),
    actionForm({
      titleId: "forgot-title", fields: [emailField()], submitLabel: "Send me a link",
      action: async ({ email }) => {
        const envelope = await api.post("/auth/password-reset", { email: email.trim() }, { auth: false });
        return done(envelope.message, "Back to the login");
      },
    })));
}

function renderReset(main, params) {
  main.append(card("reset-title", "Choose a new password",
    actionForm({
      titleId: "reset-title", fields: [newPasswordField()], submitLabel: "Set the password",
      action: async ({ password }) => {
        const envelope = await api.post("/auth/password-reset/confirm",
          { token: tokenFrom(params), password }, { auth: false });
        return done(envelope.message);
      },
    })));
}

async function renderVerify(main, params) {
  const status = h("p", { role: "status", text: "Confirming your address…" });
  main.append(card("verify-title", "Confirm your email address", status));
  try {
    const envelope = await api.post("/auth/verify-email", { token: tokenFrom(params) }, { auth: false });
    window.location.hash = "#/jobs";
    await adopt(envelope.data);
  } catch (err) {
    status.className = "form-error";
    status.setAttribute("role", "alert");
    status.textContent = err.message;
    const resend = actionForm({
      titleId: "verify-title", fields: [emailField()], submitLabel: "Send a new link",
      action: async ({ email }) => done((await api.post("/auth/verify-email/resend",
        { email: email.trim() }, { auth: false })).message, "Back to the login"),
    });
    status.after(resend);
  }
}

function renderAccept(main, params) {
  main.append(card("accept-title", "Join your team",
    h("p", { text: "Choose the name your team sees and your password." }),
    actionForm({
      titleId: "accept-title",
      fields: [field({ path: "name", label: "Your name", required: true,
        attrs: { autocomplete: "name", maxlength: 200 } }), newPasswordField("Password")],
      submitLabel: "Join",
      action: async ({ name, password }) => {
        const envelope = await api.post("/invitations/accept",
          { token: tokenFrom(params), name: name.trim(), password }, { auth: false });
        window.location.hash = "#/jobs";
        await adopt(envelope.data);
        return null;
      },
    })));
}

const TOKEN = "(?:\\?(token=[A-Za-z0-9_-]*))?";

/** Routes shown whether or not someone is logged in. */
export const publicRoutes = [
  { path: /^forgot-password$/, title: "Forgot password", render: renderForgot },
  { path: new RegExp(`^reset-password${TOKEN}$`), title: "Choose a new password", render: renderReset },
  { path: new RegExp(`^verify-email${TOKEN}$`), title: "Confirm your email address", render: renderVerify },
  { path: new RegExp(`^accept-invitation${TOKEN}$`), title: "Join your team", render: renderAccept },
];
