"""Secrets never reach the logs: passwords, tokens, API keys, webhook secrets."""
from __future__ import annotations

import logging

from tests.helpers import PASSWORD
from tests.security.conftest import HOOK_URL


def test_no_secret_is_logged(app, client, register, caplog):
    caplog.set_level(logging.DEBUG)
    owner = register(password=PASSWORD)
    login = client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}).get_json()
    access, refresh = login["data"]["access_token"], login["data"]["refresh_token"]
    headers = {"Authorization": f"Bearer {access}"}
    key = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=headers).get_json()["data"]["key"]
    assert client.get("/api/v1/jobs", headers={"X-API-Key": key}).status_code == 200
    hook = client.post("/api/v1/webhook-endpoints", headers=headers,
                       json={"url": HOOK_URL, "events": ["job.failed"]}).get_json()["data"]
    rotated = client.post(f"/api/v1/webhook-endpoints/{hook['id']}/rotate-secret",
                          headers=headers).get_json()["data"]["secret"]
    client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD + "!"})  # a failure
    new = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh}"}).get_json()
    client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh}"})  # reuse: warned
    client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {new['data']['access_token']}"},
                json={"refresh_token": new["data"]["refresh_token"]})

    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert caplog.records, "nothing was captured: the test would prove nothing"
    secrets = {"password": PASSWORD, "access token": access, "refresh token": refresh,
               "api key": key, "webhook secret": hook["secret"], "rotated secret": rotated,
               "new access": new["data"]["access_token"]}
    for name, value in secrets.items():
        assert value not in logged, f"the {name} was logged"
        # Nor its signature part alone (a token logged truncated is still a credential).
        assert value.split(".")[-1][-24:] not in logged, f"part of the {name} was logged"
