"""Schemas shared by several resources."""
from __future__ import annotations

import marshmallow as ma

from hub.fields import UTCDateTimeField
from hub.models import ROLES


def password_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(load_only=True, validate=ma.validate.Length(min=10, max=256),
                            metadata={"description": "At least 10 characters."}, **kwargs)


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
