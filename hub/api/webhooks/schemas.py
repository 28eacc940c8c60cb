import json

import marshmallow as ma

from hub.api.schemas import UTCDateTimeField
from hub.jobs.events import EVENT_TYPES
from hub.models import DELIVERY_STATUSES
from hub.web.envelope import PaginationArgsSchema
from hub.web.fields import JSONBoolean


def _unique(values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise ma.ValidationError("list each event type once")


def _events_field(**kwargs) -> ma.fields.List:
    return ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(EVENT_TYPES)),
                          validate=[ma.validate.Length(min=1, max=len(EVENT_TYPES)), _unique],
                          metadata={"description": "Event types to send: " + ", ".join(EVENT_TYPES)},
                          **kwargs)


def _url_field(**kwargs) -> ma.fields.Url:
    # Loopback and private hosts are checked by the SSRF guard, not by the format.
    return ma.fields.Url(schemes={"http", "https"}, require_tld=False,
                         validate=ma.validate.Length(max=2048),
                         metadata={"description": "http(s) URL that receives the POSTs. Addresses "
                                                  "in private, loopback, link-local or metadata "
                                                  "ranges are refused in production."},
                         **kwargs)


class EndpointCreateSchema(ma.Schema):
    url = _url_field(required=True)
    events = _events_field(required=True)
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    enabled = JSONBoolean(load_default=True)


class EndpointUpdateSchema(ma.Schema):
    url = _url_field()
    events = _events_field()
    description = ma.fields.String(validate=ma.validate.Length(max=500))
    enabled = JSONBoolean()

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("give at least one of url, events, description, enabled")


class EndpointSchema(ma.Schema):
    id = ma.fields.UUID()
    url = ma.fields.String()
    description = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    enabled = ma.fields.Boolean()
    disabled_reason = ma.fields.String(allow_none=True,
                                       metadata={"description": "Why the hub or a user disabled it."})
    disabled_at = UTCDateTimeField(allow_none=True)
    failing_since = UTCDateTimeField(allow_none=True, metadata={
        "description": "Start of the current run of failed attempts; none since the last success."})
    previous_secret_expires_at = UTCDateTimeField(allow_none=True, metadata={
        "description": "Until then the secret before the last rotation also signs."})
    created_by = ma.fields.UUID(allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()


class EndpointWithSecretSchema(EndpointSchema):
    secret = ma.fields.String(attribute="plain_secret", metadata={
        "description": "The signing secret (whsec_...). Shown only in this response."})


class AttemptSchema(ma.Schema):
    id = ma.fields.Integer()
    attempt = ma.fields.Integer(metadata={"description": "Attempt number within its job."})
    job_id = ma.fields.UUID(allow_none=True)
    outcome = ma.fields.String(metadata={"enum": ["delivered", "retry", "failed", "disabled",
                                                  "refused"]})
    status_code = ma.fields.Integer(allow_none=True)
    duration_ms = ma.fields.Float(allow_none=True)
    response_body = ma.fields.String(allow_none=True,
                                     metadata={"description": "The first 1000 characters."})
    error = ma.fields.String(allow_none=True)
    created_at = UTCDateTimeField()


class DeliverySchema(ma.Schema):
    id = ma.fields.UUID()
    webhook_id = ma.fields.String(metadata={"description": "The webhook-id header; the same on "
                                                           "every attempt and replay."})
    endpoint_id = ma.fields.UUID()
    event_type = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    attempt_count = ma.fields.Integer()
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    delivered_at = UTCDateTimeField(allow_none=True)
    job_id = ma.fields.UUID(allow_none=True, metadata={"description": "The latest sending job."})
    request_id = ma.fields.String(allow_none=True)
    payload = ma.fields.Method("_payload", metadata={"description": "The JSON body sent."})
    attempts = ma.fields.List(ma.fields.Nested(AttemptSchema))
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()

    def _payload(self, delivery):
        return json.loads(delivery.body)


class DeliveryQuerySchema(PaginationArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(DELIVERY_STATUSES))
