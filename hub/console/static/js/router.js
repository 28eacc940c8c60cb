// Hash routing: `#/jobs`, `#/jobs/<id>`. One URL (/console) serves every
// screen, so the server needs no fallback route and a reload stays on the
// screen. A route's render(el, params, ctx) may return a cleanup function,
// called when the user leaves the screen (to stop listening to live events).

const routes = [];
let cleanup = null;
let renderToken = 0;
let guard = null;
let notFound = null;

/**
 * Add a route. `path` is a RegExp matched against the hash without `#/`;
 * its groups are passed to render as params.
 */
export function addRoute(path, title, render, { public: isPublic = false } = {}) {
  routes.push({ path, title, render, isPublic });
}

/** `fn(route)` returns a substitute render when a route may not be shown (not logged in). */
export function setGuard(fn) {
  guard = fn;
}

export function setNotFound(render) {
  notFound = render;
}

export function currentPath() {
  const hash = window.location.hash;
  return hash.startsWith("#/") ? hash.slice(2) : "";
}

export function navigate(path) {
  const target = `#/${path}`;
  if (window.location.hash === target) render();
  else window.location.hash = target;
}

function match(path) {
  for (const route of routes) {
    const m = route.path.exec(path);
    if (m) return { route, params: m.slice(1).map(decodeURIComponent) };
  }
  return null;
}

/** Render the screen for the current hash into the main element. */
export async function render() {
  const main = document.getElementById("main");
  const path = currentPath();
  const found = match(path);
  let view = found ? found.route : { title: "Not found", render: notFound, isPublic: false };
  const substitute = guard ? guard(view) : null;
  if (substitute) view = substitute;

  if (cleanup) {
    try {
      cleanup();
    } catch (err) {
      console.error(err);
    }
    cleanup = null;
  }
  const token = ++renderToken;
  main.replaceChildren();
  document.title = `${view.title} · Integration hub`;
  let result;
  try {
    result = await view.render(main, found ? found.params : [], path);
  } catch (err) {
    if (token !== renderToken) return;
    main.replaceChildren();
    const heading = document.createElement("h1");
    heading.textContent = view.title;
    const message = document.createElement("p");
    message.setAttribute("role", "alert");
    message.className = "form-error";
    message.textContent = err && err.message ? err.message : "This screen could not be shown.";
    main.append(heading, message);
  }
  if (token !== renderToken) {
    if (typeof result === "function") result(); // the user already moved on
    return;
  }
  cleanup = typeof result === "function" ? result : null;
  // Move focus to the new screen's heading so keyboard and screen-reader
  // users start at the top of what changed.
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

/** Render on every hash change (hashes not starting with `#/` are not routes). */
export function listen() {
  window.addEventListener("hashchange", () => {
    if (window.location.hash.startsWith("#/") || window.location.hash === "") render();
  });
}
