"""Register, login, refresh with rotation, logout, me."""
from __future__ import annotations

from flask import current_app, request
from flask_jwt_extended import decode_token, get_current_user, get_jwt
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import InvalidTokenError
from werkzeug.exceptions import HTTPException

from hub import audit
from hub.api.access import auth_required, current_principal, refresh_claims
from hub.api.accounts.auth.schemas import (
    LoginResultSchema,
    LoginSchema,
    LogoutSchema,
    MeSchema,
    PasswordChangedSchema,
    PasswordChangeSchema,
    RegisterResultSchema,
    RegisterSchema,
    TokenPairSchema,
)
from hub.extensions import db, limiter
from hub.services import accounts
from hub.services.accounts import lifecycle as account_lifecycle
from hub.services.accounts import tokens
from hub.web.envelope import HubBlueprint, set_message
from hub.web.errors import BadRequest, Forbidden, HubError

blp = HubBlueprint("auth", __name__, url_prefix="/auth",
                   description="Sign-up, login and token lifecycle.")


def _login_email() -> str:
    """The email a login body names, for its rate-limit keys ("" if none).

    Limits are checked before the view, so this must never read more of the body than
    MAX_CONTENT_LENGTH allows: an oversized or unsized body stays unread here and the
    view answers it (413), instead of the read failing inside the limiter.
    """
    length, limit = request.content_length, current_app.config.get("MAX_CONTENT_LENGTH")
    if length is None or (limit is not None and length > limit) or not request.is_json:
        return ""
    try:
        body = request.get_json(silent=True)
    except (HTTPException, HubError):  # too large, too deep, NaN: the view answers it
        return ""
    email = body.get("email") if isinstance(body, dict) else None
    return accounts.normalize_email(email)[:320] if isinstance(email, str) else ""


def public_base_url() -> str:
    """PUBLIC_URL, or the address this request reached the hub at: where mailed links point."""
    return current_app.config["PUBLIC_URL"] or request.host_url


def _login_account_key() -> str:
    return "login-account:" + _login_email()


def _login_account_client_key() -> str:
    return f"login-account-client:{_login_email()}|{request.remote_addr or 'unknown'}"


def _failed(response) -> bool:
    return response.status_code == 401


@blp.route("/register", methods=["POST"])
@blp.arguments(RegisterSchema)
@blp.response(201, RegisterResultSchema)
@blp.alt_response(202, schema=RegisterResultSchema, description=(
    "With ACCOUNT_EMAIL_VERIFICATION on (the default in production): `{verification_required: "
    "true}` and nothing else, for a new address and a taken one alike. The address gets a link "
    "(POST /auth/verify-email), or a note that it already has an account."))
@blp.alt_response(403, response="FORBIDDEN", description="Sign-up is disabled.")
@blp.alt_response(409, response="CONFLICT",
                  description="The email is taken (only with verification off).")
def register(data):
    """Create a tenant and its owner, and log the owner in (or mail a confirmation link)."""
    if not current_app.config["ALLOW_SIGNUP"]:
        raise Forbidden("Sign-up is disabled on this hub.")
    if current_app.config["ACCOUNT_EMAIL_VERIFICATION"]:
        account_lifecycle.register_unverified(data["tenant_name"], data["name"], data["email"],
                                              data["password"], public_base_url())
        set_message("Check your email: we have sent a link to finish signing up.")
        return {"verification_required": True}, 202
    user = accounts.register(data["tenant_name"], data["name"], data["email"], data["password"])
    pair = tokens.issue_tokens(user)
    db.session.commit()
    set_message("Registered.")
    return {**pair, "user": user, "tenant": user.tenant}


@blp.route("/login", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_IP"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_ACCOUNT_CLIENT"],
               key_func=_login_account_client_key, deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_ACCOUNT"],
               key_func=_login_account_key, deduct_when=_failed)
@blp.arguments(LoginSchema)
@blp.response(200, LoginResultSchema)
@blp.alt_response(401, response="UNAUTHORIZED", description="Wrong email or password.")
@blp.alt_response(403, response="FORBIDDEN",
                  description="The account's email address is not confirmed yet.")
@blp.alt_response(429, response="TOO_MANY_REQUESTS", description="Too many attempts.")
def login(data):
    """Exchange email and password for an access and a refresh token."""
    user = accounts.authenticate(data["email"], data["password"])
    account_lifecycle.require_verified(user)
    pair = accounts.start_session(user)
    set_message("Logged in.")
    return {**pair, "user": user}


@blp.route("/refresh", methods=["POST"])
@blp.response(200, TokenPairSchema)
@blp.alt_response(401, response="UNAUTHORIZED",
                  description="Missing, expired, revoked or already used refresh token.")
@blp.doc(security=[{"bearerAuth": []}],
         description="Send the refresh token as `Authorization: Bearer <refresh token>`. "
                     "It is spent: presenting it again revokes every token of its login.")
def refresh():
    """Spend a refresh token for a new access + refresh pair."""
    claims = refresh_claims()
    pair = tokens.rotate_refresh_token(claims, get_current_user())
    set_message("Tokens refreshed.")
    return pair


@blp.route("/logout", methods=["POST"])
@auth_required(allow_api_key=False)
@blp.arguments(LogoutSchema, required=False)
@blp.response(200)
def logout(data):
    """Revoke this access token, its login's refresh tokens, and the given refresh token."""
    principal = current_principal()
    claims = get_jwt()
    tokens.revoke_token(claims)
    raw_refresh = (data or {}).get("refresh_token")
    if raw_refresh:
        try:
            refresh_payload = decode_token(raw_refresh, allow_expired=True)
        except (InvalidTokenError, JWTExtendedException):
            raise BadRequest("refresh_token is not a valid token.") from None
        if refresh_payload.get("type") != "refresh" or refresh_payload.get("sub") != claims["sub"]:
            raise BadRequest("refresh_token is not a refresh token of this user.")
        tokens.revoke_token(refresh_payload)
    tokens.revoke_session(claims)
    audit.record(principal.actor, "user.logout", "user", principal.user.id)
    db.session.commit()
    set_message("Logged out.")
    return None


def _password_change_key() -> str:
    return f"password-change:{current_principal().user.id}"


@blp.route("/password", methods=["POST"])
@auth_required(allow_api_key=False)
@limiter.limit(lambda: current_app.config["PASSWORD_CHANGE_RATE_LIMIT"], key_func=_password_change_key)
@blp.arguments(PasswordChangeSchema)
@blp.response(200, PasswordChangedSchema)
@blp.doc(description="Every other login of yours ends at once (its access and refresh tokens "
                     "are revoked); the one that sent this request stays. An admin's reset "
                     "through PATCH /users/{id} ends all of them.")
def change_password(data):
    """Change your own password."""
    claims = get_jwt()
    ended = accounts.change_own_password(current_principal().user, data["current_password"],
                                         data["new_password"], tokens.family_of(claims))
    set_message("Password changed; your other sessions have ended.")
    return {"sessions_ended": ended}


@blp.route("/me", methods=["GET"])
@auth_required(allow_api_key=False)
@blp.response(200, MeSchema)
def me():
    """The calling user and their tenant."""
    user = current_principal().user
    return {"user": user, "tenant": user.tenant}
