"""Extensions, created unbound and bound to an app in `create_app`.

Nothing here opens a connection at import time: the database engine, the
Redis client and the Celery app are all made from the app's config.
"""
from __future__ import annotations

import time
from typing import Any

import redis
from celery import Celery, Task
from flask import Flask, current_app, request
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event, exc
from sqlalchemy.engine import Engine

# Stable constraint names so Alembic migrations are the same on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
jwt = JWTManager()


def _client_ip() -> str:
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=_client_ip)
mail = Mail()


def mail_init_app(app: Flask) -> None:
    """Bind Flask-Mail; MAIL_SUPPRESS_SEND unset means Flask-Mail's default (off unless testing)."""
    if app.config.get("MAIL_SUPPRESS_SEND") is None:
        app.config["MAIL_SUPPRESS_SEND"] = app.testing
    mail.init_app(app)


# A pooled connection idle longer than this is pinged before use (see ping_when_idle).
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "hub.idle_since"


def ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, paid only where it can help.

    SQLAlchemy's `pool_pre_ping` costs a round trip on every checkout, and the
    job pipeline checks a connection out for each of its short transactions.
    A connection back in the pool for less than a second was just working, so
    only one idle for longer is pinged; a failed ping drops every pooled
    connection (a restarted server) and the pool reconnects, as pre-ping does.
    A database that dies within that second fails the next statement instead,
    which callers already handle (503 with Retry-After; the ledger re-sends).
    """

    def stamp(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        dialect = engine.dialect  # do_ping, is_disconnect, loaded_dbapi: the public Dialect API
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            if not dialect.is_disconnect(err, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            raise exc.InvalidatePoolError("the database closed the connection")
        # The ping opened a transaction (psycopg begins implicitly): end it, so the
        # connection can still be switched to autocommit (hub/jobs/steps.py).
        dbapi_connection.rollback()

    event.listen(engine, "connect", stamp)
    event.listen(engine, "checkin", stamp)
    event.listen(engine, "checkout", ping)


def redis_client(app: Flask | None = None) -> redis.Redis:
    """The app's shared Redis client (a connection pool, made on first use)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    client = app.extensions.get("hub.redis")
    if client is None:
        client = redis.Redis.from_url(
            app.config["REDIS_URL"],
            socket_connect_timeout=1,
            socket_timeout=2,
            health_check_interval=30,
        )
        app.extensions["hub.redis"] = client
    return client


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app bound to this Flask app (Flask docs pattern).

    Every task runs inside an app context. Broker and queue settings come from
    `celeryconfig.py`; URLs come from the Flask config so one setting
    (`REDIS_URL`) drives both sides.
    """

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object("celeryconfig")
    celery_app.conf.update(
        broker_url=app.config["REDIS_URL"],
        result_backend=app.config["REDIS_URL"],
        broker_transport_options={
            **celery_app.conf.broker_transport_options,
            "visibility_timeout": app.config["CELERY_VISIBILITY_TIMEOUT"],
        },
        result_backend_transport_options={
            **(celery_app.conf.result_backend_transport_options or {}),
            "visibility_timeout": app.config["CELERY_VISIBILITY_TIMEOUT"],
        },
        worker_send_task_events=app.config["CELERY_TASK_EVENTS"],
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
