// Sign-up: a new organisation (tenant) and its owner, POST /auth/register,
// reached from the login screen's links. A hub may switch sign-up off
// (ALLOW_SIGNUP); its 403 message is shown in the form.

import { api } from "../api.js";
import { h } from "../dom.js";
import { field, formAlert, onSubmit } from "../forms.js";
import { login } from "../session.js";

async function renderSignup(main, _params, ctx) {
  const heading = h("h1", { id: "signup-title", text: "Create an account" });
  if (ctx.user) {
    main.append(heading, h("p", {}, `You are logged in as ${ctx.user.email}. `,
      h("a", { href: "#/", text: "Go to the console" })));
    return;
  }
  const tenant = field({ path: "tenant_name", label: "Organisation", required: true,
    hint: "Your company or team; you will be its owner.", attrs: { maxlength: 200, autocomplete: "organization" } });
  const name = field({ path: "name", label: "Your name", required: true, attrs: { maxlength: 200, autocomplete: "name" } });
  const email = field({ path: "email", label: "Email", type: "email", required: true,
    attrs: { autocomplete: "username", autocapitalize: "none", spellcheck: "false", maxlength: 320 } });
  const password = field({ path: "password", label: "Password", type: "password", required: true,
    hint: "At least 10 characters.", attrs: { autocomplete: "new-password", minlength: 10 } });
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Create account" });
  const form = h("form", { class: "signup-form", novalidate: true, "aria-labelledby": "signup-title" },
    formAlert(), tenant, name, email, password, h("div", { class: "form-actions" }, button));
  onSubmit(form, button, async () => {
    const credentials = { email: email.control.value.trim(), password: password.control.value };
    const envelope = await api.post("/auth/register", { tenant_name: tenant.control.value.trim(),
      name: name.control.value.trim(), ...credentials }, { auth: false });
    // session.js starts a session only from a login: hand back the registration's own
    // tokens (best effort) and log in with what was just typed.
    const { access_token: token, refresh_token: refreshToken } = envelope.data;
    await api.post("/auth/logout", { refresh_token: refreshToken }, { token }).catch(() => {});
    // After the login, main.js shows the first screen, as after any login (no
    // hashchange here: a second render would race the one the login starts).
    window.history.replaceState(null, "", "#/");
    await login(credentials.email, credentials.password);
  });
  main.append(h("section", { class: "card login" }, heading, form,
    h("p", { class: "login-links" }, "Have an account? ", h("a", { href: "#/", text: "Log in" }))));
}

export default {
  id: "signup",
  nav: [],
  routes: [{ path: /^signup$/, title: "Create an account", public: true, render: renderSignup }],
};
