"""The hourly purge (beat: hub.maintenance.purge_expired_records) drops revocations of
tokens that expired anyway and expired Idempotency-Key answers, and nothing that still
matters: a logged-out token stays refused, a live key still replays."""
from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
from sqlalchemy import select

from hub.extensions import db, redis_client
from hub.models import IdempotencyRecord, RefreshToken, RevokedToken, utcnow
from tests.support.helpers import assert_error

JOB = {"type": "demo.sleep", "payload": {"seconds": 0}}


def _jti(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def _logout(client, account) -> None:
    resp = client.post("/api/v1/auth/logout", headers=account.headers,
                       json={"refresh_token": account.refresh})
    assert resp.status_code == 200, resp.get_json()


def _login(client, account) -> dict:
    resp = client.post("/api/v1/auth/login", json={"email": account.email, "password": account.password})
    assert resp.status_code == 200
    return resp.get_json()["data"]


def test_the_purge_drops_only_what_expired_and_revoked_tokens_stay_refused(app, app_ctx, client, register):
    from tasks.maintenance import purge_expired_records
    from workers.periodic import beat_schedule

    assert beat_schedule(app)["hub.maintenance.purge_expired_records"]["schedule"] == 3600
    owner = register()
    assert owner.post("/api/v1/jobs", json=JOB, headers={"Idempotency-Key": "old"}).status_code == 202
    live = owner.post("/api/v1/jobs", json=JOB, headers={"Idempotency-Key": "live"})
    staying = _login(client, owner)  # to use the API after the owner's first login is revoked
    _logout(client, owner)           # revoked; its access token lives ~15 more minutes
    long_ago, lately = (_login(client, owner) for _ in range(2))
    for session in (long_ago, lately):
        client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {session['access_token']}"},
                    json={"refresh_token": session["refresh_token"]})
    now = utcnow()
    # Tokens that expired two hours ago, and half an hour ago (kept: the purge leaves an hour).
    for session, expired in ((long_ago, now - timedelta(hours=2)), (lately, now - timedelta(minutes=30))):
        for token in (session["access_token"], session["refresh_token"]):
            db.session.get(RevokedToken, _jti(token)).expires_at = expired
        db.session.get(RefreshToken, _jti(session["refresh_token"])).expires_at = expired
    tenant_id = uuid.UUID(owner.tenant["id"])
    db.session.get(IdempotencyRecord, (tenant_id, "old")).expires_at = now - timedelta(seconds=1)
    db.session.commit()

    assert purge_expired_records() == 4  # long_ago: two revocations and its refresh row; "old"
    db.session.expire_all()
    revoked = set(db.session.scalars(select(RevokedToken.jti)))
    assert _jti(owner.access) in revoked and _jti(owner.refresh) in revoked
    assert {_jti(lately["access_token"]), _jti(lately["refresh_token"])} <= revoked
    assert not {_jti(long_ago["access_token"]), _jti(long_ago["refresh_token"])} & revoked
    assert db.session.get(RefreshToken, _jti(long_ago["refresh_token"])) is None
    assert db.session.get(RefreshToken, _jti(lately["refresh_token"])) is not None
    assert db.session.get(IdempotencyRecord, (tenant_id, "old")) is None

    # Users see: the logged-out token is still refused, even with Redis's copy of the
    # blocklist gone (it is rebuilt from what the purge left), and the live key replays.
    redis_client().delete(*redis_client().keys("hub:revoked:*"))
    assert_error(owner.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    replay = client.post("/api/v1/jobs", json=JOB, headers={
        "Idempotency-Key": "live", "Authorization": f"Bearer {staying['access_token']}"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["data"]["id"] == live.get_json()["data"]["id"]


def test_a_second_beat_skips_the_round_another_is_running(app, app_ctx, register):
    from tasks.maintenance import purge_expired_records

    owner = register()
    assert owner.post("/api/v1/jobs", json=JOB, headers={"Idempotency-Key": "k"}).status_code == 202
    record = db.session.get(IdempotencyRecord, (uuid.UUID(owner.tenant["id"]), "k"))
    record.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    held = redis_client().lock("hub:lock:purge-expired-records", timeout=30)
    assert held.acquire(blocking=False)
    try:
        assert purge_expired_records() is None
        assert db.session.get(IdempotencyRecord, (record.tenant_id, "k")) is not None
    finally:
        held.release()
    assert purge_expired_records() == 1
