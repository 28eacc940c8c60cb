"""Test set-up: a real PostgreSQL and a real Redis for the whole session.

Both are started here (through scripts/localservices.py) on free ports in a
temp dir and stopped when the session ends, also when tests fail. Set
TEST_DATABASE_URL / TEST_REDIS_URL to use servers of your own instead.

Isolation: every test starts from empty tables and an empty Redis database.
Tables are truncated rather than rolled back because end-to-end tests run real
worker and server processes that must see committed rows.
"""
from __future__ import annotations

import os
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from localservices import PostgresServer, RedisServer  # noqa: E402

from hub import create_app  # noqa: E402
from hub.extensions import db, limiter, redis_client  # noqa: E402
from tests.support.helpers import PASSWORD, Account, reconnect_redis  # noqa: E402


@pytest.fixture(scope="session")
def service_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hub-test-") as tmp:
        os.chmod(tmp, 0o755)
        yield Path(tmp)


@pytest.fixture(scope="session")
def postgres_server(service_dir: Path) -> Iterator[PostgresServer | None]:
    """The session's PostgreSQL; outage tests (tests/fault) stop and start it."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield None
        return
    server = PostgresServer(service_dir / "pg")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres(postgres_server: PostgresServer | None) -> str:
    return os.environ.get("TEST_DATABASE_URL") or postgres_server.url  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def redis_server(service_dir: Path) -> Iterator[RedisServer | None]:
    """The session's Redis; tests that simulate an outage stop/restart it."""
    if os.environ.get("TEST_REDIS_URL"):
        yield None
        return
    server = RedisServer(service_dir / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_down(app, redis_server: RedisServer | None):
    """A context manager: Redis is stopped inside the block, running again after."""
    if redis_server is None:
        pytest.fail("outage tests need the Redis started by the test set-up")

    @contextmanager
    def outage() -> Iterator[None]:
        redis_server.stop()
        try:
            yield
        finally:
            redis_server.start()
            # Flask-Limiter re-probes a dead backend with exponential backoff;
            # the next test should not run on its in-memory fallback.
            reconnect_redis(app)

    return outage


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer | None) -> str:
    return os.environ.get("TEST_REDIS_URL") or redis_server.url  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def base_config(postgres: str, redis_url: str, service_dir: Path) -> dict[str, Any]:
    """Settings of the test app; also exported to child processes in e2e tests."""
    return {
        "HUB_ENV": "testing",
        "DATABASE_URL": postgres,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "JWT_SECRET_KEY": "test-jwt-secret-key-" + "y" * 32,
        "LOGIN_RATE_LIMIT_IP": "1000 per minute",
        "LOGIN_RATE_LIMIT_ACCOUNT": "1000 per minute",
        "LOGIN_RATE_LIMIT_ACCOUNT_CLIENT": "1000 per minute",
        "PASSWORD_CHANGE_RATE_LIMIT": "1000 per minute",
        "API_RATE_LIMIT": "10000 per minute",
        # Still argon2id, at its least cost: a default hash takes ~0.4 s of CPU, and the
        # suite signs up and logs in well over a thousand times.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 1024,
        "ARGON2_PARALLELISM": 1,
        "LOG_LEVEL": "INFO",
        # Short leases and a fast relay so recovery tests take seconds, not minutes.
        "JOB_LEASE_SECONDS": 4,
        "JOB_RELAY_INTERVAL": 0.5,
        "JOB_DISPATCH_GRACE_SECONDS": 1,
        "BEAT_SCHEDULE_FILE": str(service_dir / "celerybeat-schedule"),
        # A new tenant's welcome mail is a job of that tenant; tests of other features
        # should not find it among their jobs. tests/email turns it on where it matters.
        "EMAIL_WELCOME_ENABLED": False,
        # Workers get these settings too, so they read and write the same files.
        "STORAGE_LOCAL_ROOT": str(service_dir / "storage"),
    }


@pytest.fixture(scope="session")
def app(base_config: dict[str, Any]):
    from flask_migrate import upgrade

    app = create_app(base_config)
    with app.app_context():
        upgrade()  # the real migration, on the real PostgreSQL
    return app


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty tables and Redis before each test that uses the app."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        _empty_tables()
        _clear_app_keys()
    # Whatever took Redis away before (an outage test, a restart in a fault test),
    # this test counts its rate limits in Redis, not in Flask-Limiter's fallback.
    if limiter._storage_dead:
        reconnect_redis(app)
    yield
    with app.app_context():
        db.session.remove()


# Every sequence back to its start, as TRUNCATE's RESTART IDENTITY would.
RESTART_SEQUENCES = ("SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) "
                     "FROM pg_sequences WHERE schemaname = current_schema()")


def _empty_tables() -> None:
    """What `TRUNCATE <all> RESTART IDENTITY CASCADE` does, in a tenth of the time: DELETE
    from every table, children first. TRUNCATE makes new files for each of the 20-odd tables
    (~0.3 s a test here, for tables the test mostly never touched); a DELETE of a few rows
    costs next to nothing. Should a cycle of foreign keys ever defeat the order, TRUNCATE."""
    deletes = "; ".join(f'DELETE FROM "{t.name}"' for t in reversed(db.metadata.sorted_tables))
    try:
        db.session.execute(text(deletes))
    except IntegrityError:
        db.session.rollback()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.execute(text(RESTART_SEQUENCES))
    db.session.commit()


# Keys the app writes (rate-limit counters, token blocklist, locks) and messages
# left in the queues by tests without workers. Celery's queue bindings stay.
APP_KEY_PATTERNS = ("LIMITS*", "hub:*")


def _clear_app_keys() -> None:
    from celeryconfig import QUEUES

    client = redis_client()
    keys = [k for pattern in APP_KEY_PATTERNS for k in client.scan_iter(match=pattern, count=500)]
    client.delete(*keys, *QUEUES)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def register(client):
    """Register a new tenant + owner through the API; returns an Account."""

    def _register(tenant_name: str | None = None, email: str | None = None,
                  password: str = PASSWORD) -> Account:
        email = email or f"owner-{uuid.uuid4().hex[:10]}@example.com"
        resp = client.post("/api/v1/auth/register", json={
            "tenant_name": tenant_name or "Acme " + uuid.uuid4().hex[:6],
            "name": "Owner", "email": email, "password": password})
        assert resp.status_code == 201, resp.get_json()
        return Account(client, resp.get_json(), password)

    return _register


@pytest.fixture
def add_user(client):
    """Create a user in `owner`'s tenant through the API and log them in."""

    def _add(owner: Account, role: str = "member", password: str = PASSWORD) -> Account:
        email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
        resp = owner.post("/api/v1/users", json={"email": email, "name": role.title(),
                                                 "password": password, "role": role})
        assert resp.status_code == 201, resp.get_json()
        login = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.get_json()
        return Account(client, login.get_json(), password)

    return _add


@pytest.fixture
def staff(app, register):
    """A hub operator (`is_staff`), as `flask hub create-user --staff` makes one, logged in."""
    from hub.extensions import db
    from hub.models import User

    account = register(tenant_name="Hub operators")
    with app.app_context():
        db.session.get(User, uuid.UUID(account.user["id"])).is_staff = True
        db.session.commit()
    return account


@pytest.fixture(scope="session")
def process_logs(service_dir: Path) -> Path:
    path = service_dir / "logs"
    path.mkdir(exist_ok=True)
    return path


def _workers(app, base_config, process_logs):
    from tests.support.workers import HubWorkers

    workers = HubWorkers(app.extensions["celery"], base_config, process_logs)
    yield workers
    workers.stop_all()


@pytest.fixture
def workers(app, base_config, process_logs):
    """A tests.support.workers.HubWorkers: real workers and beats, stopped after the test."""
    yield from _workers(app, base_config, process_logs)


@pytest.fixture(scope="module")
def module_workers(app, base_config, process_logs):
    """The same, for processes a module's tests share (stopped after the module)."""
    yield from _workers(app, base_config, process_logs)


@pytest.fixture
def start_worker(workers):
    """Start a real Celery worker: `start_worker(name, settings=None, **options)`."""
    return workers.worker


@pytest.fixture
def start_beat(workers):
    """Start a real `celery beat` (it drives the relay): `start_beat(settings=None)`."""
    return workers.beat


@pytest.fixture
def live_server(app, base_config, process_logs):
    """The hub under gunicorn with its realtime process, as operators run them; yields the
    API's base URL (clients find Socket.IO through GET /api/v1/realtime, as browsers do)."""
    from tests.support.processes import WebHub

    web = WebHub(base_config, process_logs)
    yield web.url
    web.stop()


@pytest.fixture(scope="module")
def module_live_server(app, base_config, process_logs):
    """Like live_server, shared by a module's tests (tables are still emptied per test)."""
    from tests.support.processes import WebHub

    web = WebHub(base_config, process_logs)
    yield web.url
    web.stop()
