"""Tenants, users, login and API keys."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Any

from sqlalchemy import func, select

from hub import audit, jobs
from hub.extensions import db
from hub.models import ADMIN_ROLES, ApiKey, Tenant, User, utcnow
from hub.services import email as email_service
from hub.services import paginate
from hub.services.accounts import tokens
from hub.services.accounts.passwords import hash_password, needs_rehash, verify_password
from hub.web.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed

API_KEY_PREFIX = "hub"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _email_taken(email: str) -> bool:
    return db.session.scalar(select(func.count()).select_from(User)
                             .where(User.email == email)) > 0


def create_tenant(name: str, tier: str = "standard") -> Tenant:
    """Create a tenant; the caller commits."""
    tenant = Tenant(id=uuid.uuid4(), name=name.strip(), tier=tier)
    db.session.add(tenant)
    return tenant


def register(tenant_name: str, name: str, email: str, password: str) -> User:
    """Sign up: a new tenant with its owner, and their welcome mail. Commits."""
    email = normalize_email(email)
    if _email_taken(email):
        raise Conflict("An account with this email already exists.",
                       details={"fields": {"email": ["already registered"]}})
    tenant = create_tenant(tenant_name)
    user = User(id=uuid.uuid4(), tenant_id=tenant.id, email=email, name=name.strip(),
                password_hash=hash_password(password), role="owner")
    db.session.add(user)
    audit.record(audit.Actor(tenant.id, user.id), "tenant.registered", "tenant", tenant.id)
    email_service.queue_welcome(user, tenant)  # in this transaction: no account without its welcome mail
    jobs.commit_and_dispatch()
    return user


def authenticate(email: str, password: str) -> User:
    """The active user with these credentials, or Unauthorized.

    Unknown email and wrong password give the same error and cost the same time.
    """
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active or not user.tenant.is_active:
        raise Unauthorized("Invalid email or password.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def start_session(user: User) -> dict[str, Any]:
    """A new login for the user (access + refresh pair), audited as `user.login`. Commits."""
    pair = tokens.issue_tokens(user)
    audit.record(audit.Actor(user.tenant_id, user.id), "user.login", "user", user.id)
    db.session.commit()
    return pair


def get_user(tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
    """A user of this tenant, or NotFound (also for other tenants' users)."""
    user = db.session.get(User, user_id)
    if user is None or user.tenant_id != tenant_id:
        raise NotFound("User not found.")
    return user


def list_users(tenant_id: uuid.UUID, page: int, per_page: int) -> tuple[list[User], int]:
    query = select(User).where(User.tenant_id == tenant_id)
    return paginate(query, page, per_page, User.created_at, User.id)


def _check_role_change(actor_role: str, target_role: str | None, new_role: str | None) -> None:
    """Only an owner may make, change or remove an owner."""
    if "owner" in (target_role, new_role) and actor_role != "owner":
        raise Forbidden("Only an owner can manage owners.")


def _owners(tenant_id: uuid.UUID) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(
        User.tenant_id == tenant_id, User.role == "owner", User.is_active.is_(True)))


def create_user(actor: audit.Actor, actor_role: str, data: dict[str, Any]) -> User:
    """Add a user to the actor's tenant. Commits."""
    email = normalize_email(data["email"])
    role = data.get("role", "member")
    _check_role_change(actor_role, None, role)
    if _email_taken(email):
        raise Conflict("An account with this email already exists.",
                       details={"fields": {"email": ["already registered"]}})
    user = User(id=uuid.uuid4(), tenant_id=actor.tenant_id, email=email,
                name=data["name"].strip(), password_hash=hash_password(data["password"]),
                role=role)
    db.session.add(user)
    audit.record(actor, "user.created", "user", user.id, {"role": role})
    db.session.commit()
    return user


def update_user(actor: audit.Actor, actor_role: str, user: User, changes: dict[str, Any]) -> User:
    """Change name, role, active flag or password of a user. Commits.

    An empty change set is a no-op (PATCH semantics), with no audit event.
    """
    if not changes:
        return user
    new_role = changes.get("role")
    if new_role is not None and new_role != user.role:
        _check_role_change(actor_role, user.role, new_role)
    elif user.role == "owner":
        _check_role_change(actor_role, user.role, None)
    demoting_owner = user.role == "owner" and (
        (new_role not in (None, "owner")) or changes.get("is_active") is False)
    if demoting_owner and _owners(user.tenant_id) <= 1:
        raise Conflict("A tenant needs at least one active owner.")
    for field in ("name", "role", "is_active"):
        if field in changes:
            setattr(user, field, changes[field])
    if changes.get("is_active") is False:
        _revoke_keys_of(actor, user, "creator_deactivated")
    elif new_role is not None:
        _cap_keys_of(actor, user, new_role)
    details: dict[str, Any] = {"fields": sorted(k for k in changes if k != "password")
                               + (["password"] if "password" in changes else [])}
    if "password" in changes:
        user.password_hash = hash_password(changes["password"])
        # An admin reset ends every session of the user, the admin's own too if it is theirs.
        details["sessions_ended"] = tokens.end_sessions(user.id, "password_reset")
    elif changes.get("is_active") is False:
        # Else reactivating the user would bring back the logins they had.
        details["sessions_ended"] = tokens.end_sessions(user.id, "deactivated")
    audit.record(actor, "user.updated", "user", user.id, details)
    db.session.commit()
    return user


def change_own_password(user: User, current_password: str, new_password: str,
                        keep_family: uuid.UUID | None) -> int:
    """A user changes their own password: every other login of theirs ends; the one that
    asked (`keep_family`) stays. Returns how many logins ended. Commits."""
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed("The current password is not right.",
                               details={"fields": {"json": {"current_password": ["not your password"]}}})
    user.password_hash = hash_password(new_password)
    ended = tokens.end_sessions(user.id, "password_changed", keep_family)
    audit.record(audit.Actor(user.tenant_id, user.id), "user.password_changed", "user", user.id,
                 {"sessions_ended": ended})
    db.session.commit()
    return ended


def delete_user(actor: audit.Actor, actor_role: str, user: User) -> None:
    """Remove a user from the tenant. Commits."""
    _check_role_change(actor_role, user.role, None)
    if user.role == "owner" and _owners(user.tenant_id) <= 1:
        raise Conflict("A tenant needs at least one active owner.")
    audit.record(actor, "user.deleted", "user", user.id, {"email": user.email})
    _revoke_keys_of(actor, user, "creator_deleted")
    db.session.delete(user)
    db.session.commit()


# --- API keys -------------------------------------------------------------

# A key never has more authority than the person who minted it.
_ROLE_RANK = {"member": 0, "admin": 1, "owner": 2}


def _live_keys_of(user: User) -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).where(
        ApiKey.created_by == user.id, ApiKey.revoked_at.is_(None)).order_by(ApiKey.created_at)))


def _revoke_keys_of(actor: audit.Actor, user: User, reason: str) -> None:
    """The user is leaving or deactivated: the keys they minted stop working, each audited."""
    now = utcnow()
    for key in _live_keys_of(user):
        key.revoked_at = now
        audit.record(actor, "api_key.revoked", "api_key", key.id,
                     {"name": key.name, "reason": reason, "created_by": str(user.id)})


def _cap_keys_of(actor: audit.Actor, user: User, new_role: str) -> None:
    """The user was demoted: their keys keep working, at most with the user's new role."""
    for key in _live_keys_of(user):
        if _ROLE_RANK.get(key.role, 0) > _ROLE_RANK.get(new_role, 0):
            audit.record(actor, "api_key.role_capped", "api_key", key.id,
                         {"name": key.name, "from": key.role, "to": new_role,
                          "reason": "creator_demoted", "created_by": str(user.id)})
            key.role = new_role

def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(actor: audit.Actor, actor_role: str, name: str,
                   role: str = "member") -> tuple[ApiKey, str]:
    """A new key; returns the row and the plain key, which is never stored. Commits."""
    if role == "owner":
        raise Forbidden("API keys cannot have the owner role.")
    if role in ADMIN_ROLES and actor_role not in ADMIN_ROLES:
        raise Forbidden("Only admins can create admin keys.")
    prefix = secrets.token_hex(6)
    plain = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(id=uuid.uuid4(), tenant_id=actor.tenant_id, created_by=actor.user_id,
                 name=name.strip(), role=role, prefix=prefix, key_hash=_hash_key(plain))
    db.session.add(key)
    audit.record(actor, "api_key.created", "api_key", key.id, {"name": key.name, "role": role})
    db.session.commit()
    return key, plain


def list_api_keys(tenant_id: uuid.UUID, page: int, per_page: int) -> tuple[list[ApiKey], int]:
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.revoked_at.is_(None))
    return paginate(query, page, per_page, ApiKey.created_at.desc(), ApiKey.id)


def revoke_api_key(actor: audit.Actor, key_id: uuid.UUID) -> None:
    key = db.session.get(ApiKey, key_id)
    if key is None or key.tenant_id != actor.tenant_id or key.revoked_at is not None:
        raise NotFound("API key not found.")
    key.revoked_at = utcnow()
    audit.record(actor, "api_key.revoked", "api_key", key.id, {"name": key.name})
    db.session.commit()


def authenticate_api_key(plain: str) -> ApiKey:
    """The live key matching `plain`, or Unauthorized."""
    parts = plain.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        raise Unauthorized("Invalid API key.")
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if (key is None or key.revoked_at is not None or not key.tenant.is_active
            or not hmac.compare_digest(key.key_hash, _hash_key(plain))):
        raise Unauthorized("Invalid API key.")
    return key
