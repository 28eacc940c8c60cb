"""Forgot password, email verification and invitations: links sent by email that work once.

Each link carries a random secret; only its SHA-256 is stored (`account_tokens`).
Following a link spends it under a row lock, so a link works once even when
two requests race. Answers that would tell whether an address has an account
(asking for a reset, signing up with verification on, asking for another
confirmation mail) are the same either way, and cost the same: a password is
hashed on both branches of a sign-up.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from hub import audit, jobs
from hub.extensions import db
from hub.models import AccountToken, Tenant, User, utcnow
from hub.services import email as email_service
from hub.services import paginate
from hub.services.accounts import _check_role_change as check_role_change
from hub.services.accounts import create_tenant, normalize_email, tokens
from hub.services.accounts.passwords import hash_password
from hub.web.errors import BadRequest, Conflict, Forbidden, NotFound

LINK_UNUSABLE = "This link is invalid, was already used, or has expired; ask for a new one."


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _link(base_url: str, screen: str, secret: str) -> str:
    """The console screen that takes the secret (it stays in the fragment: never sent to a server)."""
    return f"{base_url.rstrip('/')}/console#/{screen}?token={secret}"


def _issue(purpose: str, tenant_id: uuid.UUID, email: str, ttl: timedelta, *,
           user_id: uuid.UUID | None = None, role: str | None = None,
           created_by: uuid.UUID | None = None) -> tuple[AccountToken, str]:
    """A new link; earlier unused links of the same purpose for the same account stop working."""
    now = utcnow()
    stale = update(AccountToken).where(
        AccountToken.purpose == purpose, AccountToken.tenant_id == tenant_id,
        AccountToken.used_at.is_(None), AccountToken.revoked_at.is_(None))
    stale = stale.where(AccountToken.user_id == user_id) if user_id else \
        stale.where(AccountToken.email == email)
    db.session.execute(stale.values(revoked_at=now))
    secret = secrets.token_urlsafe(32)
    row = AccountToken(id=uuid.uuid4(), purpose=purpose, token_hash=_digest(secret),
                       tenant_id=tenant_id, user_id=user_id, email=email, role=role,
                       created_by=created_by, created_at=now, expires_at=now + ttl)
    db.session.add(row)
    return row, secret


def _spend(purpose: str, secret: str) -> AccountToken:
    """The unused, unexpired link with this secret, marked used; else BadRequest."""
    row = db.session.scalar(select(AccountToken).where(
        AccountToken.token_hash == _digest(secret), AccountToken.purpose == purpose)
        .with_for_update())
    now = utcnow()
    if row is None or row.used_at or row.revoked_at or row.expires_at <= now:
        db.session.rollback()
        raise BadRequest(LINK_UNUSABLE)
    row.used_at = now
    return row


def _active_user(email: str) -> User | None:
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    return user if user is not None and user.is_active and user.tenant.is_active else None


# --- forgot password ---------------------------------------------------------

def request_password_reset(email: str, base_url: str) -> None:
    """Mail a reset link if an active account has this address; nothing otherwise. Commits."""
    user = _active_user(email)
    if user is None:
        return
    minutes = current_app.config["PASSWORD_RESET_TTL_MINUTES"]
    _row, secret = _issue("password_reset", user.tenant_id, user.email,
                          timedelta(minutes=minutes), user_id=user.id)
    email_service.queue_email(user.tenant_id, [user.email], "password_reset", {
        "name": user.name[:200], "reset_url": _link(base_url, "reset-password", secret),
        "expires_minutes": minutes}, created_by=user.id)
    audit.record(audit.Actor(user.tenant_id, user.id), "user.password_reset_requested",
                 "user", user.id)
    jobs.commit_and_dispatch()


def reset_password(secret: str, password: str) -> int:
    """Set a new password through a reset link; every login of the user ends. Commits.

    Returns how many logins ended. Following the link also proves the address.
    """
    row = _spend("password_reset", secret)
    user = db.session.get(User, row.user_id) if row.user_id else None
    if user is None or not user.is_active or not user.tenant.is_active:
        db.session.rollback()
        raise BadRequest(LINK_UNUSABLE)
    user.password_hash = hash_password(password)
    user.email_verified_at = user.email_verified_at or utcnow()
    ended = tokens.end_sessions(user.id, "password_reset")
    audit.record(audit.Actor(user.tenant_id, user.id), "user.password_reset", "user", user.id,
                 {"sessions_ended": ended})
    db.session.commit()
    return ended


# --- email verification --------------------------------------------------------

def _send_verification(user: User, base_url: str) -> None:
    hours = current_app.config["EMAIL_VERIFICATION_TTL_HOURS"]
    _row, secret = _issue("email_verification", user.tenant_id, user.email,
                          timedelta(hours=hours), user_id=user.id)
    email_service.queue_email(user.tenant_id, [user.email], "email_verification", {
        "name": user.name[:200], "verify_url": _link(base_url, "verify-email", secret),
        "expires_hours": hours}, created_by=user.id)


def register_unverified(tenant_name: str, name: str, email: str, password: str,
                        base_url: str) -> None:
    """Sign-up with ACCOUNT_EMAIL_VERIFICATION on. Commits.

    A new address gets a tenant, its owner (who cannot log in yet) and a
    confirmation link; a taken one gets a note that it already has an account.
    The caller answers the same either way.
    """
    password_hash = hash_password(password)  # on both branches: the same cost either way
    email = normalize_email(email)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        email_service.queue_email(existing.tenant_id, [existing.email], "account_exists", {
            "name": existing.name[:200], "login_url": f"{base_url.rstrip('/')}/console"},
            created_by=existing.id)
        audit.record(audit.Actor(existing.tenant_id, None), "user.signup_with_taken_email",
                     "user", existing.id)
        jobs.commit_and_dispatch()
        return
    tenant = create_tenant(tenant_name)
    user = User(id=uuid.uuid4(), tenant_id=tenant.id, email=email, name=name.strip(),
                password_hash=password_hash, role="owner")
    db.session.add(user)
    audit.record(audit.Actor(tenant.id, user.id), "tenant.registered", "tenant", tenant.id,
                 {"email_verification": True})
    _send_verification(user, base_url)
    jobs.commit_and_dispatch()


def verify_email(secret: str) -> User:
    """Confirm an address through its link; the account can log in from now. Commits."""
    row = _spend("email_verification", secret)
    user = db.session.get(User, row.user_id) if row.user_id else None
    if user is None or user.email != row.email or not user.is_active:
        db.session.rollback()
        raise BadRequest(LINK_UNUSABLE)
    first = user.email_verified_at is None
    user.email_verified_at = user.email_verified_at or utcnow()
    audit.record(audit.Actor(user.tenant_id, user.id), "user.email_verified", "user", user.id)
    if first and user.role == "owner":
        email_service.queue_welcome(user, user.tenant)
    jobs.commit_and_dispatch()
    return user


def resend_verification(email: str, base_url: str) -> None:
    """Another confirmation link for an unconfirmed account; nothing otherwise. Commits."""
    user = _active_user(email)
    if user is None or user.email_verified_at is not None:
        return
    _send_verification(user, base_url)
    audit.record(audit.Actor(user.tenant_id, user.id), "user.verification_resent", "user", user.id)
    jobs.commit_and_dispatch()


def require_verified(user: User) -> None:
    """With ACCOUNT_EMAIL_VERIFICATION on, an account that signed up under it may not log in
    before its address is confirmed. (Accounts made otherwise, by an admin, the CLI or while
    verification was off, were never sent a link and are not held back.)"""
    if not current_app.config["ACCOUNT_EMAIL_VERIFICATION"] or user.email_verified_at is not None:
        return
    pending = db.session.scalar(select(AccountToken.id).where(
        AccountToken.purpose == "email_verification", AccountToken.user_id == user.id).limit(1))
    if pending is not None:
        raise Forbidden("Confirm your email address first: follow the link we sent you "
                        "(POST /auth/verify-email/resend sends another).")


# --- invitations -----------------------------------------------------------------

def _pending() -> list:
    now = utcnow()
    return [AccountToken.purpose == "invitation", AccountToken.used_at.is_(None),
            AccountToken.revoked_at.is_(None), AccountToken.expires_at > now]


def invite(actor: audit.Actor, actor_role: str, inviter: User, email: str, role: str,
           base_url: str) -> AccountToken:
    """Invite someone to the actor's tenant with a role; a new invitation to the same
    address replaces a pending one. Commits."""
    check_role_change(actor_role, None, role)
    email = normalize_email(email)
    hours = current_app.config["INVITATION_TTL_HOURS"]
    row, secret = _issue("invitation", actor.tenant_id, email, timedelta(hours=hours), role=role,
                         created_by=actor.user_id)
    email_service.queue_email(actor.tenant_id, [email], "invitation", {
        "inviter_name": inviter.name[:200], "tenant_name": inviter.tenant.name[:200], "role": role,
        "accept_url": _link(base_url, "accept-invitation", secret), "expires_hours": hours},
        created_by=actor.user_id)
    audit.record(actor, "invitation.created", "invitation", row.id, {"email": email, "role": role})
    jobs.commit_and_dispatch()
    return row


def list_invitations(tenant_id: uuid.UUID, page: int, per_page: int) -> tuple[list[AccountToken], int]:
    """The tenant's pending invitations, newest first."""
    query = select(AccountToken).where(AccountToken.tenant_id == tenant_id, *_pending())
    return paginate(query, page, per_page, AccountToken.created_at.desc())


def revoke_invitation(actor: audit.Actor, invitation_id: uuid.UUID) -> None:
    """A pending invitation of the actor's tenant stops working. Commits."""
    row = db.session.scalar(select(AccountToken).where(
        AccountToken.id == invitation_id, AccountToken.tenant_id == actor.tenant_id, *_pending()))
    if row is None:
        raise NotFound("Invitation not found.")
    row.revoked_at = utcnow()
    audit.record(actor, "invitation.revoked", "invitation", row.id, {"email": row.email})
    db.session.commit()


def accept_invitation(secret: str, name: str, password: str) -> User:
    """Join the inviting tenant: a new user with the invited role and this password. Commits."""
    row = _spend("invitation", secret)
    tenant = db.session.get(Tenant, row.tenant_id)
    if tenant is None or not tenant.is_active:
        db.session.rollback()
        raise BadRequest(LINK_UNUSABLE)
    if db.session.scalar(select(User.id).where(User.email == row.email)) is not None:
        db.session.rollback()
        raise Conflict("This address already has an account: log in instead.")
    user = User(id=uuid.uuid4(), tenant_id=row.tenant_id, email=row.email, name=name.strip(),
                password_hash=hash_password(password), role=row.role or "member",
                email_verified_at=utcnow())
    db.session.add(user)
    audit.record(audit.Actor(row.tenant_id, user.id), "invitation.accepted", "invitation", row.id,
                 {"user_id": str(user.id), "invited_by": str(row.created_by) if row.created_by else None})
    db.session.commit()
    return user
