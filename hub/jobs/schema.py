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

from hub.models import STATUSES
from hub.realtime import JOB_UPDATED, emit, job_rooms
from hub.web.fields import UTCDateTimeField


class JobErrorSchema(ma.Schema):
    code = ma.fields.String()
    message = ma.fields.String()


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
