// One webhook endpoint's delivery log: each delivery with its attempts
// (status code, duration, outcome, error) and a Replay button, which sends
// the same body again with a fresh signature (POST /webhook-deliveries/{id}/replay).

import { api, query } from "../../api.js";
import { h, randomId, replaceChildren, timeEl } from "../../dom.js";
import { formAlert } from "../../forms.js";
import { enabledBadge } from "./widgets.js";

const PER_PAGE = 50;

function deliveryBadge(status) {
  const cls = { delivered: "status-succeeded", failed: "status-failed", pending: "status-queued" }[status]
    || "status-queued";
  return h("span", { class: `status ${cls} delivery-status`, text: status });
}

function attemptsList(delivery) {
  if (!delivery.attempts || !delivery.attempts.length) return h("span", { class: "muted", text: "No attempts yet." });
  return h("details", { class: "attempts" },
    h("summary", { text: `${delivery.attempts.length} attempt${delivery.attempts.length === 1 ? "" : "s"}` }),
    h("ol", {}, delivery.attempts.map((a) => h("li", {},
      h("span", { class: "attempt-outcome", text: a.outcome }), " · ",
      a.status_code ? `HTTP ${a.status_code}` : "no answer",
      a.duration_ms !== null && a.duration_ms !== undefined ? ` · ${Math.round(a.duration_ms)} ms` : "",
      " · ", timeEl(a.created_at),
      a.error ? h("span", { class: "field-error", text: a.error }) : null))));
}

export async function renderDeliveries(main, [endpointId], ctx) {
  const path = `/webhook-endpoints/${encodeURIComponent(endpointId)}`;
  const alert = formAlert();
  const tbody = h("tbody");
  const empty = h("p", { class: "muted empty", text: "No deliveries yet.", hidden: true });
  const refresh = h("button", { type: "button", class: "btn", text: "Refresh", onclick: () => load() });
  const table = h("table", { class: "jobs-table deliveries-table" },
    h("caption", { class: "sr-only", text: "Deliveries, newest first" }),
    h("thead", {}, h("tr", {},
      ["Event", "Status", "Last answer", "Attempts", "Created"].map((t) => h("th", { scope: "col", text: t })),
      h("th", { scope: "col" }, h("span", { class: "sr-only", text: "Actions" })))),
    tbody);
  const heading = h("h1", { text: "Webhook deliveries" });
  const about = h("p", { class: "endpoint-about" });
  main.append(h("p", {}, h("a", { href: "#/webhooks", class: "back", text: "← Webhook endpoints" })),
    heading, about,
    h("section", { class: "card", "aria-labelledby": "delivery-list-title" },
      h("div", { class: "list-head" }, h("h2", { id: "delivery-list-title", text: "Delivery log" }), refresh),
      alert, h("div", { class: "table-wrap" }, table), empty));

  function showError(err) {
    replaceChildren(alert, h("p", { text: err.message }));
    alert.hidden = false;
  }

  function replay(delivery) {
    return async (event) => {
      const btn = event.currentTarget;
      btn.disabled = true;
      try {
        const envelope = await api.post(`/webhook-deliveries/${encodeURIComponent(delivery.id)}/replay`,
          undefined, { headers: { "Idempotency-Key": randomId() } });
        ctx.notify(envelope.message);
        await load();
      } catch (err) {
        showError(err);
        btn.disabled = false;
      }
    };
  }

  function buildRow(d) {
    const last = d.last_status_code ? `HTTP ${d.last_status_code}` : d.last_error || "—";
    return h("tr", { dataset: { deliveryId: d.id } },
      h("th", { scope: "row", "data-label": "Event" }, h("span", { text: d.event_type }),
        h("span", { class: "muted job-id", text: d.webhook_id })),
      h("td", { "data-label": "Status" }, deliveryBadge(d.status)),
      h("td", { "data-label": "Last answer", class: "job-message", text: last }),
      h("td", { "data-label": "Attempts" }, attemptsList(d)),
      h("td", { "data-label": "Created" }, timeEl(d.created_at)),
      h("td", { class: "actions-cell" }, h("button", { type: "button", class: "btn btn-small delivery-replay",
        "aria-label": `Replay ${d.event_type} delivery ${d.webhook_id}`, text: "Replay", onclick: replay(d) })));
  }

  async function load() {
    alert.hidden = true;
    try {
      const [endpoint, deliveries] = await Promise.all([
        api.get(path), api.get(`${path}/deliveries${query({ per_page: PER_PAGE })}`)]);
      replaceChildren(about, h("span", { class: "endpoint-url", text: endpoint.data.url }), " ",
        enabledBadge(endpoint.data));
      replaceChildren(tbody, deliveries.data.map(buildRow));
    } catch (err) {
      showError(err);
    }
    empty.hidden = tbody.children.length > 0;
    table.hidden = tbody.children.length === 0;
  }

  await load();
}
