"""Email tests: a real SMTP server on loopback and a worker that sends to it."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.support.smtp_sink import SmtpSink

SENDER = "Hub Tests <hub@tests.example>"


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpSink]:
    """One SMTP server per module (the worker that sends to it is slow to start)."""
    from localservices import free_port

    sink = SmtpSink(free_port())
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink(smtp_server: SmtpSink) -> SmtpSink:
    """The module's SMTP server, running, with nothing received and no scripted replies."""
    smtp_server.reset()
    return smtp_server


def mail_config(port: int) -> dict[str, Any]:
    """Settings that send real mail to the sink, with quick retries that all ride a
    broker countdown (no beat needed to send a parked retry)."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_SUPPRESS_SEND": False,
            "MAIL_DEFAULT_SENDER": SENDER, "MAIL_TIMEOUT": 5, "EMAIL_RETRY_BASE_SECONDS": 0.5,
            "JOB_SHORT_RETRY_SECONDS": 120}


@pytest.fixture(scope="module")
def mail_worker(module_workers, smtp_server):
    """A real Celery worker (one per module) whose MAIL_* settings point at `smtp_server`."""
    return module_workers.worker("mail-worker", mail_config(smtp_server.port))


@pytest.fixture
def welcome_mail(app) -> Iterator[None]:
    """Sign-ups queue their welcome mail (the suite's base_config turns it off)."""
    previous = app.config["EMAIL_WELCOME_ENABLED"]
    app.config["EMAIL_WELCOME_ENABLED"] = True
    try:
        yield
    finally:
        app.config["EMAIL_WELCOME_ENABLED"] = previous
