"""Liveness and readiness, against the real database, Redis and a real worker."""
from __future__ import annotations

from hub import create_app
from tests.support.helpers import assert_error


def test_live_answers_without_dependencies(base_config):
    app = create_app({**base_config, "DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/x",
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    resp = app.test_client().get("/health/live")
    assert resp.status_code == 200 and resp.get_json()["data"]["status"] == "live"


def test_ready_with_a_worker_then_not_ready_without(client, start_worker):
    worker = start_worker()
    resp = client.get("/health/ready")
    assert resp.status_code == 200, resp.get_json()
    checks = resp.get_json()["data"]["checks"]
    assert checks["database"]["ok"] and checks["redis"]["ok"]
    assert any(worker.name in name for name in checks["workers"]["workers"])
    worker.stop()
    body = assert_error(client.get("/health/ready"), 503, "SERVICE_UNAVAILABLE")
    checks = body["details"]["checks"]
    assert checks["workers"]["ok"] is False and checks["database"]["ok"] is True
    assert "workers" in body["message"]


def test_ready_reports_database_and_redis_failures(base_config):
    app = create_app({**base_config, "DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/x",
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    body = assert_error(app.test_client().get("/health/ready"), 503, "SERVICE_UNAVAILABLE")
    checks = body["details"]["checks"]
    assert checks["database"]["ok"] is False and checks["redis"]["ok"] is False
    text = str(body)
    assert "127.0.0.1:1" not in text and "Traceback" not in text
