import marshmallow as ma
from croniter import croniter
from flask import current_app

from hub.api.schemas import UTCDateTimeField, name_field
from hub.models import CONNECTION_STATUSES
from hub.web.envelope import PaginationArgsSchema


def _cron_field(number: str) -> str:
    item = f"(\\*|{number}(-{number})?)(/[1-9][0-9]?)?"
    return f"{item}(,{item})*"


# The documented (and most used) subset of cron: numbers, *, ranges, lists and steps per field.
CRON_PATTERN = "^" + " ".join(_cron_field(n) for n in (
    "[1-5]?[0-9]", "(1?[0-9]|2[0-3])", "([1-9]|[12][0-9]|3[01])", "([1-9]|1[0-2])", "[0-6]")) + "$"
MIN_INTERVAL = 60


class ScheduleSchema(ma.Schema):
    interval_seconds = ma.fields.Integer(
        validate=ma.validate.Range(min=MIN_INTERVAL, max=366 * 86400),
        metadata={"description": "Sync every N seconds (at least 60, or SYNC_MIN_INTERVAL_SECONDS "
                                 "when that is higher)."})
    cron = ma.fields.String(validate=[ma.validate.Length(min=1, max=100),
                                      ma.validate.Regexp(CRON_PATTERN, error="not a valid cron expression")],
                            metadata={"description": "Five fields in UTC, e.g. `*/15 * * * *`: numbers, "
                                                     "`*`, ranges, lists and steps."})

    @ma.validates_schema
    def _one(self, data, **kwargs):
        if ("interval_seconds" in data) == ("cron" in data):
            raise ma.ValidationError("give exactly one of interval_seconds and cron")
        minimum = current_app.config["SYNC_MIN_INTERVAL_SECONDS"]
        if "interval_seconds" in data and data["interval_seconds"] < minimum:
            raise ma.ValidationError(f"at least {minimum} seconds", "interval_seconds")
        if "cron" in data and not croniter.is_valid(data["cron"]):
            raise ma.ValidationError("not a valid cron expression", "cron")


def _json_object(description: str, **kwargs) -> ma.fields.Dict:
    return ma.fields.Dict(keys=ma.fields.String(), metadata={"description": description}, **kwargs)


class ConnectionCreateSchema(ma.Schema):
    connector = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100),
                                 metadata={"description": "A name from GET /connectors."})
    name = name_field(required=True)
    config = _json_object("Fits the connector's config_schema.", load_default=dict)
    credentials = _json_object("Fits the connector's credentials_schema. Encrypted at rest; "
                               "never returned.", load_default=dict, load_only=True)
    schedule = ma.fields.Nested(ScheduleSchema, allow_none=True, load_default=None)


class ConnectionUpdateSchema(ma.Schema):
    name = name_field()
    config = _json_object("Replaces the whole config.")
    credentials = _json_object("Replaces the stored credentials.", load_only=True)
    schedule = ma.fields.Nested(ScheduleSchema, allow_none=True)

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("give at least one of name, config, credentials, schedule")


class ConnectionSchema(ma.Schema):
    id = ma.fields.UUID()
    connector = ma.fields.String()
    name = ma.fields.String()
    config = ma.fields.Dict()
    has_credentials = ma.fields.Function(lambda c: bool(c.credentials_encrypted), metadata={
        "description": "Credentials are stored (they are never shown)."})
    schedule = ma.fields.Nested(ScheduleSchema, allow_none=True)
    next_sync_at = UTCDateTimeField(allow_none=True)
    status = ma.fields.String(metadata={"enum": list(CONNECTION_STATUSES), "description":
                                        "needs_attention: the source refused the credentials (or "
                                        "they cannot be read); scheduled syncs wait for a fix."})
    status_reason = ma.fields.String(allow_none=True)
    sync_job_id = ma.fields.UUID(allow_none=True, metadata={"description": "The latest sync job."})
    run_in_progress = ma.fields.Boolean(attribute="run_active", metadata={
        "description": "A run started and has not finished; the next sync resumes it."})
    run_counts = ma.fields.Dict(allow_none=True, metadata={"description": "The current run so far."})
    last_sync_at = UTCDateTimeField(allow_none=True)
    last_sync_status = ma.fields.String(allow_none=True, metadata={"enum": ["succeeded", "failed"]})
    last_sync_counts = ma.fields.Dict(allow_none=True, metadata={
        "description": "pages, records, created, updated, unchanged, deleted."})
    last_error = ma.fields.String(allow_none=True)
    created_by = ma.fields.UUID(allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()


class ConnectorSchema(ma.Schema):
    name = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    config_schema = ma.fields.Dict(metadata={"description": "JSON schema of `config`."})
    credentials_schema = ma.fields.Dict(metadata={"description": "JSON schema of `credentials`."})
    can_push = ma.fields.Boolean()


class RecordSchema(ma.Schema):
    id = ma.fields.Integer()
    external_id = ma.fields.String()
    data = ma.fields.Raw(metadata={"type": "object"})
    content_hash = ma.fields.String()
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField(metadata={"description": "When its content last changed."})
    deleted_at = UTCDateTimeField(allow_none=True, metadata={"description": "Gone from the source."})


class RecordQuerySchema(PaginationArgsSchema):
    include_deleted = ma.fields.Boolean(load_default=False)
