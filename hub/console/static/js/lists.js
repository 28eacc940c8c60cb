// What every list screen shares: a card with a table (one card per row at
// 360 px) read from a paged API collection, its summary line, empty note,
// error box and optional pager; a row button that calls the hub; and the slot
// above a list where one form at a time (an edit, a secret shown once) opens.

import { api, query } from "./api.js";
import { h, replaceChildren, showPage, uid } from "./dom.js";
import { formAlert } from "./forms.js";

/** "3 users" */
export function countText(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * A list in a card, read from the collection at `path` (GET, with `params()`
 * added to the query) and drawn one `buildRow(item)` a row. `id` names the
 * table class (`<id>-table`) and the heading's id; `columns` are the headers
 * (an Actions column is added); `head` goes beside the heading (filters);
 * `paged` adds a pager, else up to `perPage` items are shown.
 * `list.load()` reads the current page again; `list.load({ first: true })` page 1.
 */
export function listCard({ id, title, caption, columns, emptyText, noun, head = null, path, buildRow,
  params = () => ({}), perPage = 100, paged = false }) {
  const state = { page: 1, pages: 1 };
  const onPage = (delta) => {
    state.page = Math.min(Math.max(1, state.page + delta), state.pages);
    load();
  };
  const alert = formAlert();
  const tbody = h("tbody");
  const summary = h("p", { class: "muted list-summary", "aria-live": "polite" });
  const empty = h("p", { class: "muted empty", text: emptyText, hidden: true });
  const table = h("table", { class: `jobs-table ${id}-table` },
    h("caption", { class: "sr-only", text: caption }),
    h("thead", {}, h("tr", {}, columns.map((t) => h("th", { scope: "col", text: t })),
      h("th", { scope: "col" }, h("span", { class: "sr-only", text: "Actions" })))),
    tbody);
  const prev = h("button", { type: "button", class: "btn", text: "Previous page", onclick: () => onPage(-1) });
  const next = h("button", { type: "button", class: "btn", text: "Next page", onclick: () => onPage(1) });
  const pager = h("nav", { class: "pager", "aria-label": `${title} pages`, hidden: true }, prev, next);
  const section = h("section", { class: "card", "aria-labelledby": `${id}-list-title` },
    h("div", { class: "list-head" }, h("h2", { id: `${id}-list-title`, text: title }), head),
    alert, summary, h("div", { class: "table-wrap" }, table), empty, paged ? pager : null);

  function showError(err) {
    replaceChildren(alert, h("p", { text: err.message }));
    alert.hidden = false;
  }

  async function load({ first = false } = {}) {
    if (first) state.page = 1;
    alert.hidden = true;
    try {
      const envelope = await api.get(path + query({ page: paged ? state.page : undefined, per_page: perPage,
        ...params() }));
      const pagination = (envelope.meta || {}).pagination || {};
      state.pages = Math.max(1, pagination.pages || 1);
      const total = pagination.total ?? envelope.data.length;
      replaceChildren(tbody, envelope.data.map(buildRow));
      summary.textContent = countText(total, noun) + (paged ? ` · page ${state.page} of ${state.pages}` : "");
      showPage({ prev, next, pager, empty, table }, state.page, state.pages, tbody.children.length);
    } catch (err) {
      showError(err);
    }
  }

  return { section, tbody, showError, load };
}

/**
 * A row's button that calls the hub: disabled while `run()` is under way,
 * its error to `onError`. `confirm`: a question to answer first.
 */
export function actionButton({ text, label, cls = "", run, onError, confirm = null }) {
  return h("button", { type: "button", class: `btn btn-small ${cls}`.trim(), "aria-label": label, text,
    onclick: async (event) => {
      if (confirm && !window.confirm(confirm)) return;
      const button = event.currentTarget;
      button.disabled = true;
      try {
        await run();
      } catch (err) {
        onError(err);
      } finally {
        button.disabled = false;
      }
    } });
}

/**
 * The place above a list where one panel opens at a time. `slot.open(panel)`
 * shows it and moves focus there; `slot.close()` empties it and gives focus
 * back to `returnTo` (the button that opened it), if it is still in the page.
 */
export function panelSlot() {
  const el = h("div", { class: "panel-slot" });
  let returnTo = null;
  el.open = (panel, opener = document.activeElement) => {
    returnTo = opener;
    replaceChildren(el, panel);
    const first = panel.querySelector("input, select, textarea, button");
    (panel.hasAttribute("tabindex") ? panel : first || panel).focus();
  };
  el.close = () => {
    el.replaceChildren();
    if (returnTo && returnTo.isConnected) returnTo.focus();
    returnTo = null;
  };
  return el;
}

/**
 * A secret the hub shows once (a webhook signing secret, an API key): the
 * value with a Copy button, until the user says they have it. Never stored.
 */
export function secretBox({ title, about, value, onDone }) {
  const code = h("code", { class: "secret-value", text: value });
  const copied = h("span", { class: "muted copy-state", role: "status" });
  const copy = h("button", { type: "button", class: "btn", text: "Copy",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(value);
        copied.textContent = "Copied.";
      } catch {
        // No clipboard (an http page on another host): select it for Ctrl+C.
        window.getSelection().selectAllChildren(code);
        copied.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
      }
    } });
  const titleId = uid("secret-title");
  return h("div", { class: "card secret-box", role: "region", "aria-labelledby": titleId, tabindex: "-1" },
    h("h2", { id: titleId, text: title }),
    h("p", { text: `${about} Copy it now: it is not shown again.` }),
    h("p", {}, code),
    h("div", { class: "form-actions" }, copy,
      h("button", { type: "button", class: "btn", text: "I have copied it", onclick: () => onDone() }), copied));
}
