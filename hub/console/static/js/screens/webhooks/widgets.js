// Pieces shared by the webhook screens.

import { h } from "../../dom.js";

// The documented event types (docs: API.md, "Outbound webhooks"; hub.jobs.events.EVENT_TYPES,
// which a test compares with this list).
export const EVENT_TYPES = ["job.succeeded", "job.failed", "file.processed", "payment.reconciled",
  "invoice.paid", "sync.completed"];

/** "enabled" or "disabled", as a badge. */
export function enabledBadge(endpoint) {
  return h("span", { class: `status ${endpoint.enabled ? "status-succeeded" : "status-cancelled"} endpoint-state`,
    text: endpoint.enabled ? "enabled" : "disabled" });
}

