"""Outbound webhooks: a tenant's endpoints, their delivery log, and replays.

Everything here needs the admin or owner role (a user token or an admin API
key): an endpoint decides where the tenant's data goes, and the delivery log
shows what was sent and what the receiver answered.
"""
from __future__ import annotations

import uuid

from flask.views import MethodView

from hub.api.access import auth_required, current_principal
from hub.api.idempotency import idempotent
from hub.api.webhooks.schemas import (
    DeliveryQuerySchema,
    DeliverySchema,
    EndpointCreateSchema,
    EndpointSchema,
    EndpointUpdateSchema,
    EndpointWithSecretSchema,
)
from hub.services import webhooks
from hub.web.envelope import HubBlueprint, PaginationArgsSchema, set_message, set_pagination

endpoints_blp = HubBlueprint(
    "webhook-endpoints", __name__, url_prefix="/webhook-endpoints",
    description="Where your tenant's events are sent (Standard Webhooks). Admins and owners.")
deliveries_blp = HubBlueprint(
    "webhook-deliveries", __name__, url_prefix="/webhook-deliveries",
    description="Single webhook deliveries: inspect and replay. Admins and owners.")

_admin = auth_required(admin=True)


def _endpoint(endpoint_id: uuid.UUID):
    return webhooks.get_endpoint(current_principal().tenant_id, endpoint_id)


@endpoints_blp.route("")
class Endpoints(MethodView):
    @_admin
    @endpoints_blp.arguments(PaginationArgsSchema, location="query")
    @endpoints_blp.response(200, EndpointSchema(many=True))
    def get(self, args):
        """The tenant's webhook endpoints, newest first (secrets are never shown again)."""
        items, total = webhooks.list_endpoints(current_principal().tenant_id, **args)
        set_pagination(args["page"], args["per_page"], total)
        return items

    # No Idempotency-Key here on purpose: a replayed answer would have to store the secret.
    @_admin
    @endpoints_blp.arguments(EndpointCreateSchema)
    @endpoints_blp.response(201, EndpointWithSecretSchema)
    @endpoints_blp.alt_response(409, response="CONFLICT", description="Too many endpoints.")
    def post(self, data):
        """Create an endpoint. Its signing secret is in this response only; store it now."""
        endpoint, secret = webhooks.create_endpoint(current_principal().actor, data)
        endpoint.plain_secret = secret  # transient: serialised once, never stored
        set_message("Webhook endpoint created; copy the secret now, it is not shown again.")
        return endpoint


@endpoints_blp.route("/<uuid:endpoint_id>")
class EndpointById(MethodView):
    @_admin
    @endpoints_blp.response(200, EndpointSchema)
    @endpoints_blp.alt_response(404, response="NOT_FOUND")
    def get(self, endpoint_id: uuid.UUID):
        """One endpoint."""
        return _endpoint(endpoint_id)

    @_admin
    @endpoints_blp.arguments(EndpointUpdateSchema)
    @endpoints_blp.response(200, EndpointSchema)
    @endpoints_blp.alt_response(404, response="NOT_FOUND")
    def patch(self, data, endpoint_id: uuid.UUID):
        """Change url, events, description or enabled (enabling clears the failure record)."""
        set_message("Webhook endpoint updated.")
        return webhooks.update_endpoint(current_principal().actor, _endpoint(endpoint_id), data)

    @_admin
    @endpoints_blp.response(200)
    @endpoints_blp.alt_response(404, response="NOT_FOUND")
    def delete(self, endpoint_id: uuid.UUID):
        """Delete an endpoint with its delivery log; queued deliveries to it are dropped."""
        webhooks.delete_endpoint(current_principal().actor, _endpoint(endpoint_id))
        set_message("Webhook endpoint deleted.")
        return None


@endpoints_blp.route("/<uuid:endpoint_id>/rotate-secret")
class EndpointSecretRotation(MethodView):
    @_admin
    @endpoints_blp.response(200, EndpointWithSecretSchema)
    @endpoints_blp.alt_response(404, response="NOT_FOUND")
    def post(self, endpoint_id: uuid.UUID):
        """A new signing secret (shown once). The old one keeps signing, beside the new one,
        until `previous_secret_expires_at` (WEBHOOK_SECRET_GRACE_HOURS)."""
        endpoint = _endpoint(endpoint_id)
        endpoint.plain_secret = webhooks.rotate_secret(current_principal().actor, endpoint)
        set_message("Secret rotated; copy the new secret now, it is not shown again.")
        return endpoint


@endpoints_blp.route("/<uuid:endpoint_id>/test")
class EndpointTest(MethodView):
    @_admin
    @idempotent
    @endpoints_blp.response(202, DeliverySchema)
    @endpoints_blp.alt_response(404, response="NOT_FOUND")
    @endpoints_blp.alt_response(409, response="CONFLICT", description="The endpoint is disabled.")
    def post(self, endpoint_id: uuid.UUID):
        """Send a `webhook.test` event to this endpoint only (whatever events it subscribes to),
        signed and retried like any delivery and logged among its deliveries."""
        delivery = webhooks.send_test(current_principal().actor, _endpoint(endpoint_id))
        set_message("Test delivery queued.")
        return delivery


@endpoints_blp.route("/<uuid:endpoint_id>/deliveries")
class EndpointDeliveries(MethodView):
    @_admin
    @endpoints_blp.arguments(DeliveryQuerySchema, location="query")
    @endpoints_blp.response(200, DeliverySchema(many=True))
    @endpoints_blp.alt_response(404, response="NOT_FOUND")
    def get(self, args, endpoint_id: uuid.UUID):
        """The endpoint's deliveries, newest first, each with every attempt (status code,
        duration, the start of the response body, error)."""
        items, total = webhooks.list_deliveries(_endpoint(endpoint_id), args["page"],
                                                args["per_page"], args.get("status"))
        set_pagination(args["page"], args["per_page"], total)
        return items


@deliveries_blp.route("/<uuid:delivery_id>")
class DeliveryById(MethodView):
    @_admin
    @deliveries_blp.response(200, DeliverySchema)
    @deliveries_blp.alt_response(404, response="NOT_FOUND")
    def get(self, delivery_id: uuid.UUID):
        """One delivery with its attempts."""
        return webhooks.get_delivery(current_principal().tenant_id, delivery_id)


@deliveries_blp.route("/<uuid:delivery_id>/replay")
class DeliveryReplay(MethodView):
    @_admin
    @idempotent
    @deliveries_blp.response(202, DeliverySchema)
    @deliveries_blp.alt_response(404, response="NOT_FOUND")
    @deliveries_blp.alt_response(409, response="CONFLICT",
                                 description="Still being sent, or the endpoint is disabled.")
    def post(self, delivery_id: uuid.UUID):
        """Send the delivery again: same `webhook-id` and body, a fresh timestamp and signature,
        and a fresh retry schedule."""
        p = current_principal()
        delivery = webhooks.get_delivery(p.tenant_id, delivery_id)
        webhooks.replay(p.actor, delivery)
        set_message("Delivery queued again.")
        return delivery
