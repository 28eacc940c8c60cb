"""API4: the default per-IP limit on API routes (API_RATE_LIMIT, 600 per minute) answers 429.

The suite raises the limit for every other test, and Flask-Limiter keeps the first
default it was given for the life of a process, so the default is tried on a hub
process of its own: gunicorn started with the setting unset, as operators run it.
"""
from __future__ import annotations

import time

import pytest
import requests

from tests.support.processes import start_gunicorn, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def default_limited_hub(app, base_config, process_logs):
    from localservices import free_port

    config = {k: v for k, v in base_config.items() if k != "API_RATE_LIMIT"}
    port = free_port()
    server = start_gunicorn({**config, "WEB_CONCURRENCY": 1}, process_logs, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(url + "/health/live", timeout=1).ok, 30, "gunicorn",
                   proc=server.proc)
        yield url
    finally:
        server.stop()


def _fresh_window(margin: float = 25.0) -> int:
    """Wait, if need be, for a fixed one-minute window (Flask-Limiter's default strategy,
    windows aligned to the epoch) with at least `margin` seconds left; return its number."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.05)
    return int(time.time() // 60)


def test_the_601st_request_in_a_minute_from_one_address_is_429(default_limited_hub):
    with requests.Session() as session:
        window = _fresh_window()
        answers = [session.get(default_limited_hub + "/api/v1/realtime", timeout=10) for _ in range(600)]
        assert {r.status_code for r in answers} == {200}
        assert answers[0].headers["X-RateLimit-Limit"] == "600"
        assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
        refused = session.get(default_limited_hub + "/api/v1/realtime", timeout=10)
        assert int(time.time() // 60) == window, "601 requests took over 25 s: the count restarted"
        # Health probes are exempt: a limited client does not look like a dead hub.
        assert session.get(default_limited_hub + "/health/live", timeout=10).status_code == 200
    assert refused.status_code == 429
    body = refused.json()
    assert body["success"] is False and body["code"] == "RATE_LIMITED"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
