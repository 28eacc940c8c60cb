import marshmallow as ma

from hub.api.schemas import UTCDateTimeField
from hub.web.envelope import PaginationArgsSchema


class AuditQuerySchema(PaginationArgsSchema):
    action = ma.fields.String(validate=ma.validate.Length(max=100))
    object_type = ma.fields.String(validate=ma.validate.Length(max=50))
    object_id = ma.fields.String(validate=ma.validate.Length(max=64))


class AuditEventSchema(ma.Schema):
    id = ma.fields.UUID()
    action = ma.fields.String()
    object_type = ma.fields.String()
    object_id = ma.fields.String(allow_none=True)
    actor_user_id = ma.fields.UUID(allow_none=True)
    actor_api_key_id = ma.fields.UUID(allow_none=True)
    request_id = ma.fields.String(allow_none=True)
    ip = ma.fields.String(allow_none=True)
    details = ma.fields.Dict()
    created_at = UTCDateTimeField()
