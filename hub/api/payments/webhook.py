"""`POST /webhooks/stripe`: Stripe's endpoint. No JWT: the signature is the credential.

The raw body is read under its own size cap (STRIPE_WEBHOOK_MAX_BYTES) before
anything parses it, verified with `STRIPE_WEBHOOK_SECRET`, stored once and
answered at once; a worker applies it. The per-IP API limit does not apply
(Stripe delivers from a few addresses in bursts); the route has its own,
looser limit, STRIPE_WEBHOOK_RATE_LIMIT.
"""
from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from hub.api.payments.schemas import WebhookAckSchema
from hub.extensions import limiter
from hub.services.payments import stripe_events
from hub.web.envelope import HubBlueprint, set_message

blp = HubBlueprint("stripe_webhooks", __name__, url_prefix="/webhooks/stripe",
                   description="Stripe's webhook endpoint (signed with Stripe-Signature; no JWT).")
limiter.exempt(blp)


@blp.route("")
class StripeWebhook(MethodView):
    @limiter.limit(lambda: current_app.config["STRIPE_WEBHOOK_RATE_LIMIT"])
    @blp.doc(parameters=[{"in": "header", "name": "Stripe-Signature", "required": True,
                          "schema": {"type": "string"},
                          "description": "t=<unix time>,v1=<hex HMAC-SHA256 of \"{t}.{body}\">"}])
    @blp.response(200, WebhookAckSchema)
    @blp.alt_response(400, response="BAD_REQUEST", description="Missing, wrong or stale signature.")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="Stripe is not configured.")
    def post(self):
        """Receive a Stripe event: verified, stored once, processed by a worker."""
        request.max_content_length = current_app.config["STRIPE_WEBHOOK_MAX_BYTES"]
        payload = request.get_data(cache=False)  # the raw bytes the signature covers
        event, duplicate = stripe_events.receive(payload, request.headers.get("Stripe-Signature"))
        set_message("Already received." if duplicate else "Received.")
        return {"received": True, "duplicate": duplicate, "event_id": event.id, "status": event.status}
