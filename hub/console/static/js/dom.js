// Building DOM nodes without innerHTML: text from the API is always set as
// text, never parsed as markup, so a job message cannot inject HTML.

/**
 * Create an element. `attrs` keys: `class`, `text`, `dataset` (object),
 * `on<event>` (listener), boolean values toggle attributes, anything else is
 * set with setAttribute. Children may be nodes, strings, or null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Text with `code` spans (as the hub's descriptions write them) as nodes:
 * plain text, and a `<code>` element per backticked part. Nothing is parsed
 * as markup; an unpaired backtick stays as it is.
 */
export function codeText(text) {
  const parts = String(text ?? "").split("`");
  if (parts.length % 2 === 0) return [parts.join("`")];
  return parts.map((part, i) => (i % 2 ? h("code", { text: part }) : part)).filter((p) => p !== "");
}

/** Replace all children of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let idCounter = 0;

/** A document-unique id with a readable prefix (for label/aria wiring). */
export function uid(prefix = "id") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** `<time>` showing a timestamp in the reader's locale, or a dash when empty. */
export function timeEl(iso) {
  if (!iso) return h("span", { class: "muted", text: "—" });
  const date = new Date(iso);
  return h("time", { datetime: iso, title: iso,
    text: date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" }) });
}

/** A random UUID v4; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** After a page of a list loaded: the pager's buttons, and the table or its empty note. */
export function showPage({ prev, next, pager, empty, table }, page, pages, count) {
  prev.disabled = page <= 1;
  next.disabled = page >= pages;
  pager.hidden = pages <= 1;
  empty.hidden = count > 0;
  table.hidden = count === 0;
}
