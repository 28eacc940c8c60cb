"""Secrets never reach the logs: passwords, tokens, API keys, webhook secrets, connector
credentials, Stripe keys."""
from __future__ import annotations

import logging

from tests.payments.conftest import WEBHOOK_SECRET, event_body, sign
from tests.security.conftest import HOOK_URL, SOURCE_URL, STRIPE
from tests.support.helpers import PASSWORD

CONNECTOR_TOKEN = "sk-connector-" + "t" * 20


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
    connection = client.post("/api/v1/connections", headers=headers, json={
        "connector": "rest", "name": "Shop", "config": {"url": SOURCE_URL},
        "credentials": {"token": CONNECTOR_TOKEN}}).get_json()["data"]
    client.patch(f"/api/v1/connections/{connection['id']}", headers=headers,
                 json={"credentials": {"token": CONNECTOR_TOKEN + "-2"}})
    event = event_body("customer.created", {"id": "cus_logcheck", "object": "customer"})
    client.post("/api/v1/webhooks/stripe", data=event, content_type="application/json",
                headers={"Stripe-Signature": sign(event)})
    client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD + "!"})  # a failure
    new = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh}"}).get_json()
    client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh}"})  # reuse: warned
    client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {new['data']['access_token']}"},
                json={"refresh_token": new["data"]["refresh_token"]})

    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert caplog.records, "nothing was captured: the test would prove nothing"
    secrets = {"password": PASSWORD, "access token": access, "refresh token": refresh,
               "api key": key, "webhook secret": hook["secret"], "rotated secret": rotated,
               "new access": new["data"]["access_token"], "connector credentials": CONNECTOR_TOKEN,
               "Stripe API key": STRIPE["STRIPE_API_KEY"], "Stripe webhook secret": WEBHOOK_SECRET,
               "Stripe signature": sign(event).split("v1=")[1]}
    for name, value in secrets.items():
        assert value not in logged, f"the {name} was logged"
        # Nor its signature part alone (a token logged truncated is still a credential).
        assert value.split(".")[-1][-24:] not in logged, f"part of the {name} was logged"
