"""Readiness checks of what the hub depends on."""
from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import text

from hub.extensions import db, redis_client

log = logging.getLogger(__name__)


def _database() -> dict[str, Any]:
    db.session.execute(text("SELECT 1"))
    return {"ok": True}


def _redis() -> dict[str, Any]:
    redis_client().ping()
    return {"ok": True}


def _workers() -> dict[str, Any]:
    celery_app = current_app.extensions["celery"]
    replies = celery_app.control.ping(timeout=current_app.config["HEALTH_WORKER_TIMEOUT"])
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return {"ok": False, "error": "no worker answered a ping"}
    return {"ok": True, "workers": names}


CHECKS = {"database": _database, "redis": _redis, "workers": _workers}


def readiness() -> tuple[bool, dict[str, dict[str, Any]]]:
    """Run every check; never raises. Errors are summarised, not leaked."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # noqa: BLE001 - a failed dependency is an answer, not a crash
            log.warning("readiness check %s failed: %s", name, exc)
            results[name] = {"ok": False, "error": f"{name} unreachable ({type(exc).__name__})"}
            if name == "database":
                db.session.rollback()
    return all(r["ok"] for r in results.values()), results
