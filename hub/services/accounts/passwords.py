"""Password hashing with argon2id, at the cost the settings give (ARGON2_*), and the
strength a new password needs (zxcvbn's estimate, PASSWORD_MIN_SCORE)."""
from __future__ import annotations

from functools import lru_cache

import argon2
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context
from zxcvbn import zxcvbn

# zxcvbn refuses longer input (its matching is quadratic); a longer password is judged by
# its first 72 characters, which is more than enough to tell a strong one.
ZXCVBN_MAX_LENGTH = 72
DEFAULT_MIN_SCORE = 3


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


def weakness(password: str, user_inputs: list[str] | tuple[str, ...] = ()) -> str | None:
    """None if the password is strong enough for a new one; else why not and what helps.

    Uses zxcvbn's estimate (common passwords, dictionary words, keyboard patterns,
    repeats, dates, and the user's own name or email in `user_inputs`).
    """
    cfg = current_app.config if has_app_context() else {}
    min_score = cfg.get("PASSWORD_MIN_SCORE", DEFAULT_MIN_SCORE)
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH],
                    user_inputs=[v for v in user_inputs if v][:10])
    if result["score"] >= min_score:
        return None
    feedback = result.get("feedback") or {}
    hints = [feedback.get("warning") or "This password is too easy to guess.",
             *(feedback.get("suggestions") or [])]
    if not any("word" in h.lower() for h in hints[1:]):
        hints.append("A few uncommon words together make a strong password that is easy to remember.")
    return " ".join(h.strip() for h in hints if h)
