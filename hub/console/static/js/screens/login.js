// The login screen: email and password → POST /auth/login.

import { h, replaceChildren } from "../dom.js";
import { field, formAlert, showError } from "../forms.js";
import { login } from "../session.js";

// Ways in besides logging in, under the form (the screens are main.js's
// public routes: screens/account.js and screens/signup.js).
const LOGIN_LINKS = [
  { text: "", label: "Forgot password?", href: "#/forgot-password" },
  { text: "No account yet?", label: "Create one", href: "#/signup" },
];

/**
 * Render the login form; `reason` (e.g. "Your session has ended") is shown
 * above it. A successful login is announced by session.js; main.js takes it from there.
 */
export function renderLogin(main, { reason }) {
  const alert = formAlert();
  const email = field({ path: "email", label: "Email", type: "email", required: true,
    attrs: { autocomplete: "username", autocapitalize: "none", spellcheck: "false" } });
  const password = field({ path: "password", label: "Password", type: "password", required: true,
    attrs: { autocomplete: "current-password" } });
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Log in" });
  const form = h("form", { class: "login-form", novalidate: true, "aria-labelledby": "login-title" },
    alert, email, password, h("div", { class: "form-actions" }, button));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      await login(email.control.value.trim(), password.control.value);
    } catch (err) {
      password.control.value = "";
      showError(form, err);
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });

  replaceChildren(main,
    h("section", { class: "card login" },
      h("h1", { id: "login-title", text: "Log in" }),
      reason ? h("p", { class: "notice-inline", role: "status", text: reason }) : null,
      form,
      h("ul", { class: "login-links" }, LOGIN_LINKS.map((link) =>
        h("li", {}, link.text ? `${link.text} ` : null, h("a", { href: link.href, text: link.label }))))));
}
