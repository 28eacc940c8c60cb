"""`flask hub seed-demo` (run by `make run`): the demo login is a tenant owner, not staff."""
from __future__ import annotations

from sqlalchemy import select

from hub.extensions import db
from hub.models import User

DEMO_PASSWORD = "demo otter lighthouse 42"


def test_the_demo_login_is_a_tenant_owner_and_says_so(app, app_ctx, register, monkeypatch):
    monkeypatch.setenv("DEMO_EMAIL", "demo@example.com")
    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    monkeypatch.setitem(app.config, "SYNC_DEMO_SOURCE_ENABLED", False)
    result = app.test_cli_runner().invoke(args=["hub", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert "not staff" in result.output
    user = db.session.scalar(select(User).where(User.email == "demo@example.com"))
    assert user.role == "owner" and user.is_staff is False
    # Logged in, the demo owner sees only its own tenant's jobs.
    other = register()
    job = {"type": "demo.sleep", "payload": {"seconds": 0}}
    assert other.post("/api/v1/jobs", json=job).status_code == 202
    client = app.test_client()
    login = client.post("/api/v1/auth/login", json={"email": "demo@example.com", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {login.get_json()['data']['access_token']}"}
    assert client.get("/api/v1/jobs", headers=headers).get_json()["data"] == []
    assert client.get("/api/v1/jobs?all_tenants=true", headers=headers).status_code == 403


def test_a_demo_user_made_staff_by_an_older_seed_is_demoted(app, app_ctx, monkeypatch):
    monkeypatch.setenv("DEMO_EMAIL", "demo@example.com")
    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    monkeypatch.setitem(app.config, "SYNC_DEMO_SOURCE_ENABLED", False)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["hub", "seed-demo"]).exit_code == 0
    user = db.session.scalar(select(User).where(User.email == "demo@example.com"))
    user.is_staff = True
    db.session.commit()
    result = runner.invoke(args=["hub", "seed-demo"])
    assert result.exit_code == 0 and "no longer staff" in result.output
    db.session.expire_all()
    assert db.session.get(User, user.id).is_staff is False
