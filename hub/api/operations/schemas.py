"""Schemas of the operator's view: filters, grouped failures, stuck jobs, bulk actions."""
from __future__ import annotations

import marshmallow as ma

from hub.jobs.schema import JobSchema
from hub.models import STATUSES
from hub.web.envelope import PaginationArgsSchema
from hub.web.fields import JSONBoolean, UTCDateTimeField


class _FilterFields(ma.Schema):
    tenant_id = ma.fields.UUID(metadata={"description": "One tenant's jobs."})
    type = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    error_code = ma.fields.String(validate=ma.validate.Length(min=1, max=64),
                                  metadata={"description": "The job's `error.code`."})
    created_after = UTCDateTimeField(clamp=True)
    created_before = UTCDateTimeField(clamp=True)
    payload = ma.fields.String(validate=[ma.validate.Length(min=1, max=321),
                                         ma.validate.Regexp(r"^[^=]", error="Start with the key.")],
                               metadata={
        "description": "`key`: jobs whose payload has this top-level key; `key=value`: with "
                       "this value, compared as text (the first `=` splits them)."})


class OpsJobQuerySchema(PaginationArgsSchema, _FilterFields):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))


class FailedQuerySchema(PaginationArgsSchema, _FilterFields):
    status = ma.fields.String(validate=ma.validate.OneOf(("failed", "cancelled", "retrying")), metadata={
        "description": "Whose errors to group: `failed` (the default), or `retrying`/`cancelled`."})


class StuckQuerySchema(PaginationArgsSchema):
    not_started_seconds = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=30 * 24 * 3600),
        metadata={"description": "A queued job sent to a worker this long ago that has not "
                                 "started is stuck (default OPS_STUCK_SECONDS)."})


class OpsJobSchema(JobSchema):
    """A job as operators see it: what clients see, plus where it is in the pipeline."""

    queue = ma.fields.String()
    dispatched_at = UTCDateTimeField(allow_none=True, metadata={
        "description": "When it was last sent to a worker; null: waiting in the outbox."})
    lease_expires_at = UTCDateTimeField(allow_none=True)
    worker = ma.fields.String(allow_none=True)


class FailedGroupSchema(ma.Schema):
    type = ma.fields.String()
    error_code = ma.fields.String(metadata={"description": "`-` for a job failed without a code."})
    count = ma.fields.Integer()
    tenants = ma.fields.Integer(metadata={"description": "How many tenants these jobs belong to."})
    first_created_at = UTCDateTimeField()
    last_failed_at = UTCDateTimeField(allow_none=True)


class StuckJobSchema(ma.Schema):
    reason = ma.fields.String(metadata={"enum": ["not_started", "lease_expired"]})
    stuck_seconds = ma.fields.Float(allow_none=True)
    job = ma.fields.Nested(OpsJobSchema)


class BulkFilterSchema(_FilterFields):
    status = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(STATUSES)),
                            validate=ma.validate.Length(max=len(STATUSES)))


class BulkActionSchema(ma.Schema):
    filter = ma.fields.Nested(BulkFilterSchema, load_default=dict)
    dry_run = JSONBoolean(load_default=True, metadata={
        "description": "Count only (the default). A real run sends `dry_run: false`."})
    expected = ma.fields.Integer(validate=ma.validate.Range(min=0), metadata={
        "description": "With `dry_run: false`: the `selected` of the dry run. A different "
                       "count now is a 409 (the set changed)."})


class BulkResultSchema(ma.Schema):
    action = ma.fields.String(metadata={"enum": ["retry", "cancel"]})
    dry_run = ma.fields.Boolean()
    matched = ma.fields.Integer(metadata={"description": "Jobs the filter matches."})
    selected = ma.fields.Integer(metadata={"description": "Of those, the ones this call acts on "
                                                          "(at most `max`, oldest first)."})
    max = ma.fields.Integer()
    done = ma.fields.Integer()
    skipped = ma.fields.Integer(metadata={"description": "Changed by someone else meanwhile."})
