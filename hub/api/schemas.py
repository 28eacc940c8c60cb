"""Schemas shared by several resources."""
from __future__ import annotations

import marshmallow as ma

from hub.models import ROLES
from hub.services.accounts import passwords
from hub.web.fields import UTCDateTimeField


def password_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(load_only=True, validate=ma.validate.Length(min=10, max=256),
                            metadata={"description": "At least 10 characters, and not easy to guess: "
                                                     "common passwords, repeats, keyboard patterns and "
                                                     "your own name or email are refused (a 422 says "
                                                     "why and what helps)."}, **kwargs)


class NewPasswordSchema(ma.Schema):
    """A body that sets a password: one that is easy to guess is refused (zxcvbn), with the
    body's name and email as hints of what the user would pick."""

    password_field_name = "password"

    @ma.validates_schema
    def _strong_password(self, data: dict, **_kw) -> None:
        password = data.get(self.password_field_name)
        if not password:
            return
        hints = [str(data[k]) for k in ("email", "name", "tenant_name") if data.get(k)]
        if data.get("email"):
            hints.append(str(data["email"]).split("@", 1)[0])
        why = passwords.weakness(password, hints)
        if why:
            raise ma.ValidationError(f"Too easy to guess. {why}", self.password_field_name)


def name_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(validate=ma.validate.Length(min=1, max=200), **kwargs)


def email_field(**kwargs) -> ma.fields.Email:
    return ma.fields.Email(validate=ma.validate.Length(max=320), **kwargs)


def role_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(validate=ma.validate.OneOf(ROLES), **kwargs)


class TenantSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String()
    tier = ma.fields.String()
    created_at = UTCDateTimeField()


class UserSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    tenant_id = ma.fields.UUID()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    is_staff = ma.fields.Boolean()
    is_active = ma.fields.Boolean()
    last_login_at = UTCDateTimeField(allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
