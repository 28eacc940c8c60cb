import marshmallow as ma

from hub.api.schemas import (
    NewPasswordSchema,
    TenantSchema,
    UserSchema,
    email_field,
    name_field,
    password_field,
)


class RegisterSchema(NewPasswordSchema):
    tenant_name = name_field(required=True)
    name = name_field(required=True)
    email = email_field(required=True)
    password = password_field(required=True)


class LoginSchema(ma.Schema):
    email = email_field(required=True)
    password = ma.fields.String(required=True, load_only=True,
                                validate=ma.validate.Length(min=1, max=256))


class LogoutSchema(ma.Schema):
    refresh_token = ma.fields.String(load_only=True, validate=ma.validate.Length(max=4096),
                                     metadata={"description": "Also revoke this refresh token."})


class PasswordChangeSchema(NewPasswordSchema):
    password_field_name = "new_password"

    current_password = ma.fields.String(required=True, load_only=True,
                                        validate=ma.validate.Length(min=1, max=256))
    new_password = password_field(required=True)


class PasswordChangedSchema(ma.Schema):
    sessions_ended = ma.fields.Integer(metadata={
        "description": "How many other logins of yours were ended (this one stays)."})


class TokenPairSchema(ma.Schema):
    access_token = ma.fields.String()
    refresh_token = ma.fields.String()
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(metadata={"description": "Access token lifetime, seconds."})


class LoginResultSchema(TokenPairSchema):
    user = ma.fields.Nested(UserSchema)


class RegisterResultSchema(LoginResultSchema):
    tenant = ma.fields.Nested(TenantSchema)
    verification_required = ma.fields.Boolean(metadata={
        "description": "True (and no tokens) when the address must be confirmed first."})


class MeSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema)
    tenant = ma.fields.Nested(TenantSchema)
