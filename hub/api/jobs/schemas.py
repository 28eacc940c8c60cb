import marshmallow as ma
from flask import current_app

from hub.api.schemas import UTCDateTimeField
from hub.jobs.schema import JobErrorSchema, JobSchema  # noqa: F401 - the jobs resource's schemas
from hub.models import PRIORITIES, STATUSES
from hub.web.envelope import PaginationArgsSchema
from hub.web.fields import JSONBoolean


class JobCreateSchema(ma.Schema):
    type = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    payload = ma.fields.Dict(load_default=dict,
                             metadata={"description": "Checked against the type's JSON schema "
                                                      "(GET /jobs/types)."})
    run_at = UTCDateTimeField(load_default=None, allow_none=True,
                              metadata={"description": "Start no earlier than this (UTC, with offset); "
                                                       "at most a year ahead, else 422."})
    notify = JSONBoolean(load_default=False,
                               metadata={"description": "Email me when the job finishes."})
    priority = ma.fields.String(
        load_default="normal", validate=ma.validate.OneOf(PRIORITIES),
        metadata={"description": "Order among the tenant's own waiting jobs (`high` first); never "
                                 "ahead of other tenants' turns. Above the tier's `max_priority` "
                                 "is 422."})


class JobBatchSchema(ma.Schema):
    jobs = ma.fields.List(ma.fields.Nested(JobCreateSchema), required=True, metadata={
        "description": "The jobs to queue, each as POST /jobs takes one: at least 1, at most "
                       "JOB_BATCH_MAX (1000 unless configured). All are queued or none."})

    @ma.validates("jobs")
    def _within_batch_max(self, jobs, **_kwargs):
        most = current_app.config["JOB_BATCH_MAX"]
        if not 1 <= len(jobs) <= most:
            raise ma.ValidationError(f"Between 1 and {most} jobs.")


class JobQuerySchema(PaginationArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    type = ma.fields.String(validate=ma.validate.Length(max=64))
    created_after = UTCDateTimeField(clamp=True)
    created_before = UTCDateTimeField(clamp=True)
    all_tenants = ma.fields.Boolean(load_default=False,
                                    metadata={"description": "Staff only: every tenant's jobs."})


class JobEventSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": ["transition", "progress"]})
    status = ma.fields.String()
    progress = ma.fields.Integer()
    message = ma.fields.String(allow_none=True)
    attempt = ma.fields.Integer()
    data = ma.fields.Dict(allow_none=True)
    request_id = ma.fields.String(allow_none=True)
    created_at = UTCDateTimeField()


class RetryPolicySchema(ma.Schema):
    max_attempts = ma.fields.Integer()
    base_delay = ma.fields.Float()
    factor = ma.fields.Float()
    max_delay = ma.fields.Float()
    jitter = ma.fields.Float()
    schedule = ma.fields.List(ma.fields.Float(), allow_none=True)


class JobTypeSchema(ma.Schema):
    name = ma.fields.String()
    description = ma.fields.String()
    queue = ma.fields.String()
    creatable = ma.fields.Boolean(metadata={"description": "Whether POST /jobs accepts it."})
    created_through = ma.fields.String(allow_none=True, metadata={
        "description": "For a type POST /jobs does not take: the endpoint that queues it."})
    payload_schema = ma.fields.Dict(attribute="schema", metadata={"description": "JSON Schema."})
    retry = ma.fields.Method("_retry")

    def _retry(self, jtype):
        return jtype.retry.describe()
