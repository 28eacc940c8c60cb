"""Who is calling: JWT or API key, and what they may do.

`auth_required` resolves the caller into a `Principal` (user or API key, its
tenant and role) and documents the security schemes and 401/403 answers of
the operation it decorates.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, Callable

from flask import g, request
from flask_jwt_extended import get_current_user, get_jwt, verify_jwt_in_request
from flask_smorest import Blueprint

from hub import audit
from hub.extensions import db, jwt
from hub.models import ADMIN_ROLES, ApiKey, User, utcnow
from hub.services import accounts
from hub.services.accounts import principal_cache, tokens
from hub.web.errors import Forbidden, Unauthorized, error_response

API_KEY_HEADER = "X-API-Key"
KEY_TOUCH_INTERVAL = timedelta(minutes=1)
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
}


@dataclass(frozen=True)
class Principal:
    tenant_id: uuid.UUID
    role: str
    user: User | principal_cache.CachedUser | None = None
    api_key: ApiKey | None = None

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def is_staff(self) -> bool:
        return bool(self.user and self.user.is_staff)

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor(self.tenant_id, self.user.id if self.user else None,
                           self.api_key.id if self.api_key else None)


def current_principal() -> Principal:
    return g.principal


def _authenticate(allow_api_key: bool) -> Principal:
    plain = request.headers.get(API_KEY_HEADER)
    if plain and allow_api_key:
        key = accounts.authenticate_api_key(plain)
        now = utcnow()
        # Coarse on purpose: one write a minute per key, not one per request.
        if key.last_used_at is None or now - key.last_used_at > KEY_TOUCH_INTERVAL:
            key.last_used_at = now
            db.session.commit()
        return Principal(tenant_id=key.tenant_id, role=key.role, api_key=key)
    if plain:
        raise Unauthorized("This endpoint needs a user's access token, not an API key.")
    verify_jwt_in_request()
    user: User = get_current_user()
    return Principal(tenant_id=user.tenant_id, role=user.role, user=user)


def auth_required(*, admin: bool = False, allow_api_key: bool = True, lean: bool = False) -> Callable:
    """Require a valid access token (or API key); `admin` needs owner/admin.

    `lean`: the view reads only the principal's ids, role and staff flag, so a user
    may be resolved from the principal cache instead of loaded from the database
    (`current_principal().user` is then a `principal_cache.CachedUser`).
    """

    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.lean_principal = lean
            principal = _authenticate(allow_api_key)
            if admin and not principal.is_admin:
                raise Forbidden("This needs the admin or owner role.")
            g.principal = principal
            return fn(*args, **kwargs)

        security = [{"bearerAuth": []}] + ([{"apiKey": []}] if allow_api_key else [])
        responses: dict[str, Any] = {"401": "UNAUTHORIZED"}
        if admin:
            responses["403"] = "FORBIDDEN"
        return Blueprint.doc(security=security, responses=responses)(wrapper)

    return decorator


# flask-jwt-extended's reasons for a token of the other kind, and what to do instead.
WRONG_TOKEN_MESSAGES = {
    "Only refresh tokens are allowed": "This is an access token. POST /auth/refresh takes the "
                                       "refresh token from login as 'Authorization: Bearer <refresh_token>'.",
    "Only non-refresh tokens are allowed": "This is a refresh token. Send the access token; use the "
                                           "refresh token only with POST /auth/refresh.",
}


def _jwt_error(message: str):
    return error_response(401, message)


def register_jwt_callbacks() -> None:
    """Make every JWT failure a 401 envelope and check revocation."""

    @jwt.user_lookup_loader
    def _load_user(_header: dict, payload: dict) -> User | principal_cache.CachedUser | None:
        try:
            user_id = uuid.UUID(payload["sub"])
        except (KeyError, ValueError, TypeError):
            return None
        lean = g.get("lean_principal", False)
        if lean:
            cached = principal_cache.load(user_id, payload.get("tid"))
            if cached is not None:
                return cached
        user = db.session.get(User, user_id)
        if user is None or not user.is_active or not user.tenant.is_active:
            return None
        if lean:
            principal_cache.store(user)
        return user

    @jwt.token_in_blocklist_loader
    def _revoked(_header: dict, payload: dict) -> bool:
        return tokens.is_token_revoked(payload)

    jwt.user_lookup_error_loader(lambda _h, _p: _jwt_error("This account is not active."))
    jwt.expired_token_loader(lambda _h, _p: _jwt_error("The token has expired."))
    jwt.invalid_token_loader(
        lambda reason: _jwt_error(WRONG_TOKEN_MESSAGES.get(reason, "The token is not valid.")))
    jwt.unauthorized_loader(lambda reason: _jwt_error("Authentication is required: send "
                                                      "'Authorization: Bearer <token>'."))
    jwt.revoked_token_loader(lambda _h, _p: _jwt_error("The token has been revoked."))
    jwt.needs_fresh_token_loader(lambda _h, _p: _jwt_error("A fresh login is required."))
    jwt.token_verification_failed_loader(lambda _h, _p: _jwt_error("The token is not valid."))


def refresh_claims() -> dict[str, Any]:
    """Verify the request's refresh token and return its claims."""
    verify_jwt_in_request(refresh=True)
    return get_jwt()
