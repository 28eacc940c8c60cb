"""Secrets at rest: encrypt and decrypt with the app's keys, and re-encrypt after a key change.

Columns holding encrypted values register here (`register_encrypted`), so
`rotate_all()` (the `hub rotate-encryption` command) finds every one of them
without knowing the features that own them.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute

from hub.extensions import db
from hub.integrations.crypto import DecryptionError, SecretBox, derive_key, parse_keys

log = logging.getLogger(__name__)

_encrypted_columns: list[InstrumentedAttribute] = []

__all__ = ["DecryptionError", "configured_keys", "decrypt", "encrypt", "register_encrypted",
           "rotate_all"]


def configured_keys(config: Any) -> list[str]:
    """ENCRYPTION_KEYS, or outside production a key derived from SECRET_KEY."""
    if config.get("ENCRYPTION_KEYS"):
        return parse_keys(config["ENCRYPTION_KEYS"])
    if config["HUB_ENV"] == "production":  # check_config refuses this at start already
        raise RuntimeError("ENCRYPTION_KEYS must be set in production")
    return [derive_key(config["SECRET_KEY"])]


def _box() -> SecretBox:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    keys = tuple(configured_keys(app.config))
    cached = app.extensions.get("hub.secret_box")
    if cached is None or cached[0] != keys:
        cached = (keys, SecretBox(keys))
        app.extensions["hub.secret_box"] = cached
    return cached[1]


def encrypt(plain: str) -> str:
    """Encrypt with the first configured key."""
    return _box().encrypt(plain)


def decrypt(token: str) -> str:
    """Decrypt with any configured key; DecryptionError if none fits."""
    return _box().decrypt(token)


def register_encrypted(*columns: InstrumentedAttribute) -> None:
    """Declare model columns that hold `encrypt()`ed text (NULL allowed)."""
    for column in columns:
        if column not in _encrypted_columns:
            _encrypted_columns.append(column)


def rotate_all(batch: int = 500) -> dict[str, int]:
    """Re-encrypt every registered column's values with the first key; commits per batch.

    Returns the number of values re-encrypted per `table.column`. A value no
    key can decrypt is left as it is and counted under `<table.column>:unreadable`.
    """
    box = _box()
    counts: dict[str, int] = {}
    for column in _encrypted_columns:
        model = column.class_
        name = f"{model.__tablename__}.{column.key}"
        pk = model.__mapper__.primary_key[0]
        last = None
        done = unreadable = 0
        while True:
            query = select(pk, column).where(column.is_not(None)).order_by(pk).limit(batch)
            if last is not None:
                query = query.where(pk > last)
            rows = db.session.execute(query).all()
            if not rows:
                break
            for row_id, token in rows:
                try:
                    fresh = box.rotate(token)
                except DecryptionError:
                    unreadable += 1
                    log.error("%s of row %s cannot be decrypted with any key", name, row_id)
                    continue
                db.session.execute(update(model).where(pk == row_id, column == token)
                                   .values({column.key: fresh}))
                done += 1
            db.session.commit()
            last = rows[-1][0]
        counts[name] = done
        if unreadable:
            counts[f"{name}:unreadable"] = unreadable
    return counts
