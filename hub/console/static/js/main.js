// The console's entry point: resume or ask for a login, then show the
// screens of the modules listed in modules.js, with a live socket.

import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { connect, disconnect, on, onState } from "./live.js";
import modules from "./modules.js";
import { addRoute, currentPath, listen, navigate, render, setGuard, setNotFound } from "./router.js";
import { publicRoutes } from "./screens/account.js";
import { signupRoute } from "./screens/signup.js";
import { renderLogin } from "./screens/login.js";
import { currentUser, isLoggedIn, logout, onSessionChange, restore } from "./session.js";

const ctx = { user: null, tenant: null, config: {}, notify };
let loginReason = null;

const notice = document.getElementById("notice");
let noticeTimer = null;
let noticePath = null; // the screen a notice is about

/** Empty the notice region: what it said was about the screen the user has left. */
function clearNotice() {
  clearTimeout(noticeTimer);
  notice.textContent = "";
}

/** Say something briefly in the polite live region (screen readers read it too). */
function notify(message) {
  if (!message) return;
  // The region stays in the page (an empty one is not drawn) so that
  // screen readers announce each change.
  notice.textContent = message;
  noticePath = currentPath(); // after navigate(), already the screen the user goes to
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(clearNotice, 6000);
}

function visibleModules() {
  return modules.filter((m) => !m.visible || m.visible(ctx));
}

function renderChrome() {
  const nav = document.getElementById("nav");
  const account = document.getElementById("account");
  if (!isLoggedIn()) {
    nav.hidden = true;
    account.hidden = true;
    return;
  }
  const items = visibleModules().flatMap((m) => m.nav || []).map((item) => {
    const href = typeof item.href === "function" ? item.href(ctx) : item.href;
    const link = item.external
      ? h("a", { href, target: "_blank", rel: "noopener noreferrer", class: "external",
        dataset: { nav: item.label } }, item.label,
      h("span", { class: "sr-only", text: " (opens in a new tab)" }), h("span", { "aria-hidden": "true", text: " ↗" }))
      : h("a", { href, dataset: { nav: item.label } }, item.label);
    return h("li", {}, link);
  });
  replaceChildren(document.getElementById("nav-links"), items);
  nav.hidden = false;
  const { user, tenant } = currentUser();
  document.getElementById("account-name").textContent = `${user.name} · ${tenant.name}`;
  account.hidden = false;
  markCurrentNav();
}

function markCurrentNav() {
  const path = `#/${currentPath()}`;
  for (const link of document.querySelectorAll("#nav-links a:not(.external)")) {
    const href = link.getAttribute("href");
    if (path === href || path.startsWith(`${href}/`)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// Shown instead of any screen while logged out; the hash is kept, so after
// logging in the user lands on the screen they asked for.
const loginView = { title: "Log in", render: (main) => renderLogin(main, { reason: loginReason }) };

function registerRoutes() {
  for (const module of modules) {
    for (const route of module.routes || []) {
      addRoute(route.path, route.title, (main, params) => {
        if (module.visible && !module.visible(ctx)) return notFoundView(main);
        return route.render(main, params, ctx);
      });
    }
  }
  for (const route of [...publicRoutes, signupRoute]) {
    addRoute(route.path, route.title, route.render, { public: true });
  }
  // `#/` (or no hash): the first screen in the navigation.
  addRoute(/^$/, "Console", () => navigate(homePath()));
  setGuard((view) => (isLoggedIn() || view.isPublic ? null : loginView));
  setNotFound(notFoundView);
}

function notFoundView(main) {
  main.append(h("h1", { text: "Not found" }),
    h("p", {}, "There is no such screen. ", h("a", { href: "#/jobs", text: "Go to the jobs" })));
}

function homePath() {
  const first = visibleModules().flatMap((m) => m.nav || []).find((item) => !item.external);
  return first ? first.href.replace(/^#\//, "") : "jobs";
}

async function onLogin() {
  loginReason = null;
  const { user, tenant } = currentUser();
  ctx.user = user;
  ctx.tenant = tenant;
  try {
    ctx.config = (await api.get("/config", { base: "/console" })).data || {};
  } catch {
    ctx.config = {};
  }
  renderChrome();
  connect();
  render();
}

function onLogout(reason) {
  disconnect();
  clearNotice();
  ctx.user = null;
  ctx.tenant = null;
  ctx.config = {};
  loginReason = reason || null;
  renderChrome();
  render();
}

function wireChrome() {
  document.getElementById("logout").addEventListener("click", () => logout());
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault(); // the hash belongs to the router
    document.getElementById("main").focus();
  });
  const liveState = document.getElementById("live-state");
  onState((state) => {
    liveState.dataset.state = state;
    liveState.textContent = { live: "Live", connecting: "Connecting…", offline: "Offline" }[state];
  });
  window.addEventListener("hashchange", () => {
    if (currentPath() !== noticePath) clearNotice();
    markCurrentNav();
  });
  // Tenant-wide news from the hub (reconciliation finished, sync finished, ...).
  on("notification", (data) => notify(data && data.message));
}

async function boot() {
  wireChrome();
  registerRoutes();
  onSessionChange((event) => (event.type === "login" ? onLogin() : onLogout(event.reason)));
  listen();
  // A login this tab already had resumes (and renders through onLogin);
  // otherwise the guard shows the login screen.
  if (!(await restore())) render();
}

boot();
