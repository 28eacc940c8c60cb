"""The integration hub's Flask application."""
from __future__ import annotations

from typing import Any

from flask import Flask

from hub.config import check_config, load_config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, errors, CLI.

    Socket.IO is not served here but by the real-time process
    (hub/realtime_server), which builds this same app for its settings and database.

    `config` overrides settings read from the environment (tests use it).
    Nothing here connects to the database or Redis; connections open on use.
    """
    app = Flask(__name__, instance_relative_config=True)
    settings = load_config(config)
    check_config(settings)
    app.config.update(settings)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # unhandled errors → 500 envelope, also in tests

    from hub.logs import configure_logging

    configure_logging(app)
    register_extensions(app)
    register_tracing(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from hub import models  # noqa: F401  (models must be known to SQLAlchemy and Alembic)
    from hub.api.access import register_jwt_callbacks
    from hub.extensions import celery_init_app, db, jwt, limiter, mail_init_app, migrate, ping_when_idle
    from hub.jobs.types import load_job_types
    from hub.metrics import init_metrics
    from hub.web.envelope import init_envelope
    from hub.web.security_headers import init_security_headers

    init_envelope(app)
    init_security_headers(app)
    init_metrics(app)
    db.init_app(app)
    with app.app_context():  # the engine exists now; it connects on first use
        ping_when_idle(db.engine)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True)
    jwt.init_app(app)
    register_jwt_callbacks()
    limiter.init_app(app)
    mail_init_app(app)
    celery_init_app(app)
    # Job types (and the event listeners their modules subscribe) are known to
    # every process: the API validates payloads, workers run handlers.
    load_job_types()


def register_tracing(app: Flask) -> None:
    from hub.tracing import init_tracing

    init_tracing(app)


def register_blueprints(app: Flask) -> None:
    from hub.api import register_blueprints as register
    from hub.console import register_console

    register(app)
    register_console(app)


def register_errorhandlers(app: Flask) -> None:
    from hub.web.errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from hub.cli import hub_cli

    app.cli.add_command(hub_cli)


def _migrations_dir() -> str:
    import os

    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
