"""A pooled connection the database dropped while it sat idle is replaced on checkout
(hub.extensions.ping_when_idle), against the suite's real PostgreSQL."""
from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import exc, text

from hub import extensions
from hub.extensions import db


def _backend_pid() -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(pid: int) -> None:
    """What a PostgreSQL restart (or an idle timeout on a proxy) does to a pooled connection."""
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] is True


def test_a_connection_killed_while_idle_is_replaced_on_checkout(app_ctx, monkeypatch):
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_SECONDS", 0.2)
    db.engine.dispose()  # one pooled connection: the one killed below
    dead = _backend_pid()
    _terminate(dead)
    time.sleep(0.5)  # idle for longer than the threshold: pinged on checkout
    assert _backend_pid() != dead  # transparently a new connection


def test_without_the_ping_the_dead_connection_fails_the_next_statement(app_ctx, monkeypatch):
    # The control for the test above: the killed connection really is unusable.
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_SECONDS", 3600)
    db.engine.dispose()
    dead = _backend_pid()
    _terminate(dead)
    time.sleep(0.5)
    with pytest.raises(exc.OperationalError):
        _backend_pid()
    assert _backend_pid() != dead  # SQLAlchemy dropped it; the pool reconnects
