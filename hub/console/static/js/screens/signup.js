// Sign-up: a new organisation (tenant) and its owner, POST /auth/register,
// reached from the login screen's links; a public route (main.js). With
// ACCOUNT_EMAIL_VERIFICATION on, the hub answers 202 alike for new and taken
// addresses and mails a link (screens/account.js confirms it); otherwise the
// answer's tokens start the session. A hub may switch sign-up off
// (ALLOW_SIGNUP); its 403 message is shown in the form.

import { api } from "../api.js";
import { h } from "../dom.js";
import { field, formAlert, onSubmit } from "../forms.js";
import { adopt, currentUser } from "../session.js";

function renderSignup(main) {
  const heading = h("h1", { id: "signup-title", text: "Create an account" });
  const signedIn = currentUser();
  if (signedIn && signedIn.user) {
    main.append(h("section", { class: "card login" }, heading,
      h("p", {}, `You are logged in as ${signedIn.user.email}. `, h("a", { href: "#/", text: "Go to the console" }))));
    return;
  }
  const tenant = field({ path: "tenant_name", label: "Organisation", required: true,
    hint: "Your company or team; you will be its owner.", attrs: { maxlength: 200, autocomplete: "organization" } });
  const name = field({ path: "name", label: "Your name", required: true, attrs: { maxlength: 200, autocomplete: "name" } });
  const email = field({ path: "email", label: "Email", type: "email", required: true,
    attrs: { autocomplete: "username", autocapitalize: "none", spellcheck: "false", maxlength: 320 } });
  const password = field({ path: "password", label: "Password", type: "password", required: true,
    hint: "At least 10 characters, and not easy to guess.", attrs: { autocomplete: "new-password", minlength: 10 } });
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Create account" });
  const form = h("form", { class: "signup-form", novalidate: true, "aria-labelledby": "signup-title" },
    formAlert(), tenant, name, email, password, h("div", { class: "form-actions" }, button));
  onSubmit(form, button, async () => {
    const envelope = await api.post("/auth/register", { tenant_name: tenant.control.value.trim(),
      name: name.control.value.trim(), email: email.control.value.trim(), password: password.control.value },
    { auth: false });
    if (envelope.data.verification_required) {
      const said = h("p", { class: "notice-inline", role: "status", tabindex: "-1", text: envelope.message });
      form.replaceWith(said);
      said.focus();
      return;
    }
    // main.js shows the first screen after the login, as after any login (the URL
    // changes without a hashchange: a second render would race that one).
    window.history.replaceState(null, "", "#/");
    await adopt(envelope.data);
  });
  main.append(h("section", { class: "card login" }, heading, form,
    h("p", { class: "login-links" }, "Have an account? ", h("a", { href: "#/", text: "Log in" }))));
}

export const signupRoute = { path: /^signup$/, title: "Create an account", render: renderSignup };
