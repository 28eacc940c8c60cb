import marshmallow as ma

from hub.api.schemas import UTCDateTimeField, name_field


class ApiKeyCreateSchema(ma.Schema):
    name = name_field(required=True)
    role = ma.fields.String(load_default="member", validate=ma.validate.OneOf(("admin", "member")))


class ApiKeySchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    role = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "Public part of the key, to recognise it."})
    created_by = ma.fields.UUID(allow_none=True)
    created_at = UTCDateTimeField()
    last_used_at = UTCDateTimeField(allow_none=True)


class ApiKeyCreatedSchema(ApiKeySchema):
    key = ma.fields.String(attribute="plain_key",
                           metadata={"description": "The secret key. Shown only this once."})
