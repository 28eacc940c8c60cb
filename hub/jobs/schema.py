"""The job as clients see it: one serializer for `GET /jobs/{id}` and the `job.updated` event.

Both answers come from `JobSchema`, so a socket event carries exactly the
fields and values a read of the job would return at that moment (an error
cleared by a later success is `null`, not missing), and `version` orders them:
the ledger bumps it on every write, so a client merges an event only if its
version is higher than the one it holds.
"""
from __future__ import annotations

from typing import Any

import marshmallow as ma

from hub.models import PRIORITIES, STATUSES
from hub.realtime import JOB_UPDATED, emit, job_rooms
from hub.web.fields import UTCDateTimeField


class JobErrorSchema(ma.Schema):
    code = ma.fields.String()
    message = ma.fields.String()


class PriorityField(ma.fields.Field):
    """Stored as its index (0 low, 1 normal, 2 high: higher runs first); shown by name."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str:
        return PRIORITIES[value if value is not None else 1]


class JobSchema(ma.Schema):
    id = ma.fields.UUID()
    tenant_id = ma.fields.UUID()
    type = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(STATUSES)})
    progress = ma.fields.Integer()
    message = ma.fields.String(allow_none=True)
    payload = ma.fields.Dict()
    result = ma.fields.Raw(allow_none=True)
    error = ma.fields.Nested(JobErrorSchema, allow_none=True)
    attempts = ma.fields.Integer()
    max_attempts = ma.fields.Integer()
    next_attempt_at = UTCDateTimeField(allow_none=True)
    created_at = UTCDateTimeField()
    started_at = UTCDateTimeField(allow_none=True)
    finished_at = UTCDateTimeField(allow_none=True)
    updated_at = UTCDateTimeField()
    request_id = ma.fields.String(allow_none=True)
    created_by = ma.fields.UUID(allow_none=True)
    notify = ma.fields.Boolean()
    priority = PriorityField(metadata={"type": "string", "enum": list(PRIORITIES)})
    waiting_for = ma.fields.String(allow_none=True, metadata={
        "description": "The limit a waiting job is held back by: `tenant` (the plan's jobs at a "
                       "time), or a flow-control key such as `smtp` or `webhook-endpoint:<id>`. "
                       "Null when nothing holds it back. `message` says the same in words."})
    version = ma.fields.Integer(metadata={
        "description": "Grows on every write of the job. Of two copies of a job (a read, a "
                       "`job.updated` event), the one with the higher version is the newer."})


_JOB = JobSchema()


def dump_job(job: Any) -> dict[str, Any]:
    """The job as the API answers it; `job` is a Job or a row read by attribute like one."""
    return _JOB.dump(job)


def emit_job_update(job: Any) -> None:
    """Send `job.updated` (the job as `dump_job` gives it) to everyone who hears about the job."""
    emit(JOB_UPDATED, dump_job(job), job_rooms(job))
