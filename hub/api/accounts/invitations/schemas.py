import marshmallow as ma

from hub.api.accounts.auth.schemas import RegisterResultSchema
from hub.api.schemas import NewPasswordSchema, email_field, name_field, password_field, role_field
from hub.web.fields import UTCDateTimeField


class InvitationSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    email = ma.fields.String()
    role = ma.fields.String()
    status = ma.fields.Constant("pending", metadata={
        "description": "Listed invitations are pending; accepted, revoked and expired ones are not."})
    invited_by = ma.fields.UUID(attribute="created_by", allow_none=True)
    created_at = UTCDateTimeField()
    expires_at = UTCDateTimeField()


class InvitationCreateSchema(ma.Schema):
    email = email_field(required=True)
    role = role_field(load_default="member")


class InvitationAcceptSchema(NewPasswordSchema):
    token = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=1, max=200),
                             metadata={"description": "The `token` of the link in the invitation mail."})
    name = name_field(required=True)
    password = password_field(required=True)


class InvitationAcceptedSchema(RegisterResultSchema):
    pass
