"""Forgot password and email verification (routes on the auth blueprint).

Answers that could tell whether an address has an account are the same either
way (202 with one message). Each address may be mailed ACCOUNT_EMAIL_RATE_LIMIT
times, and each client asks at LOGIN_RATE_LIMIT_IP.
"""
from __future__ import annotations

import marshmallow as ma
from flask import current_app

from hub.api.accounts.auth.routes import _login_email, blp, public_base_url
from hub.api.accounts.auth.schemas import LoginResultSchema
from hub.api.schemas import NewPasswordSchema, email_field, password_field
from hub.extensions import limiter
from hub.services import accounts
from hub.services.accounts import lifecycle as account_lifecycle
from hub.web.envelope import set_message

SENT = "If an account uses that address, we have sent it a link."


def _address_key() -> str:
    return "account-mail:" + _login_email()


def mail_limits(fn):
    """Per client, and per address mailed (the body's `email`)."""
    fn = limiter.limit(lambda: current_app.config["ACCOUNT_EMAIL_RATE_LIMIT"],
                       key_func=_address_key)(fn)
    return limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_IP"])(fn)


class EmailOnlySchema(ma.Schema):
    email = email_field(required=True)


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=1, max=200),
                             metadata={"description": "The `token` of the link in the mail."})


class ResetConfirmSchema(TokenSchema, NewPasswordSchema):
    password = password_field(required=True)


class SessionsEndedSchema(ma.Schema):
    sessions_ended = ma.fields.Integer(metadata={"description": "How many logins ended."})


@blp.route("/password-reset", methods=["POST"])
@mail_limits
@blp.arguments(EmailOnlySchema)
@blp.response(202)
@blp.alt_response(429, response="TOO_MANY_REQUESTS", description="Too many requests.")
def request_password_reset(data):
    """Mail a one-time link to choose a new password (same answer for any address)."""
    account_lifecycle.request_password_reset(data["email"], public_base_url())
    set_message(SENT)
    return None


@blp.route("/password-reset/confirm", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_IP"])
@blp.arguments(ResetConfirmSchema)
@blp.response(200, SessionsEndedSchema)
@blp.alt_response(400, response="BAD_REQUEST", description="The link is unusable.")
def confirm_password_reset(data):
    """Choose a new password with the mailed link. Every login of the account ends."""
    ended = account_lifecycle.reset_password(data["token"], data["password"])
    set_message("Password changed; log in with the new one.")
    return {"sessions_ended": ended}


@blp.route("/verify-email", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_IP"])
@blp.arguments(TokenSchema)
@blp.response(200, LoginResultSchema)
@blp.alt_response(400, response="BAD_REQUEST", description="The link is unusable.")
def verify_email(data):
    """Confirm the address of a new account with the mailed link, and log in."""
    user = account_lifecycle.verify_email(data["token"])
    pair = accounts.start_session(user)
    set_message("Email address confirmed.")
    return {**pair, "user": user}


@blp.route("/verify-email/resend", methods=["POST"])
@mail_limits
@blp.arguments(EmailOnlySchema)
@blp.response(202)
@blp.alt_response(429, response="TOO_MANY_REQUESTS", description="Too many requests.")
def resend_verification(data):
    """Mail another confirmation link to an unconfirmed account (same answer for any address)."""
    account_lifecycle.resend_verification(data["email"], public_base_url())
    set_message(SENT)
    return None
