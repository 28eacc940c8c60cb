"""Password hashing with argon2id, at the cost the settings give (ARGON2_*)."""
from __future__ import annotations

from functools import lru_cache

import argon2
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context


@lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> tuple[PasswordHasher, str]:
    """The hasher for these parameters and a dummy hash made with it: verified against when
    the email is unknown, so a login for a missing account costs the same time as one with
    a wrong password."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    return hasher, hasher.hash("not-a-real-password-only-for-timing")


def _hasher() -> tuple[PasswordHasher, str]:
    cfg = current_app.config if has_app_context() else {}
    return _hasher_for(cfg.get("ARGON2_TIME_COST", argon2.DEFAULT_TIME_COST),
                       cfg.get("ARGON2_MEMORY_KIB", argon2.DEFAULT_MEMORY_COST),
                       cfg.get("ARGON2_PARALLELISM", argon2.DEFAULT_PARALLELISM))


def hash_password(password: str) -> str:
    return _hasher()[0].hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if `password` matches; always does the full argon2 work."""
    hasher, dummy = _hasher()
    try:
        return hasher.verify(password_hash or dummy, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the settings' (then login rehashes)."""
    return _hasher()[0].check_needs_rehash(password_hash)
