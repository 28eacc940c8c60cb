"""API7:2023 Server Side Request Forgery: webhook URLs that point inside the network are
refused when OUTBOUND_ALLOW_PRIVATE is off (as in production)."""
from __future__ import annotations

import pytest

from hub import create_app
from tests.support.helpers import assert_error

INTERNAL_URLS = [
    "http://127.0.0.1/hook", "http://localhost:6379/", "http://10.0.0.5/", "http://172.16.0.1/",
    "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
    "http://[fd00::1]/", "http://0.0.0.0/", "http://2130706433/", "http://0x7f000001/",
    "http://[::ffff:127.0.0.1]/", "http://metadata.google.internal/", "http://100.64.0.1/",
    # IPv6 forms that embed an internal IPv4 address: IPv4-compatible,
    # IPv4-translated, NAT64 and 6to4.
    "http://[::7f00:1]/", "http://[::127.0.0.1]/", "http://[::ffff:0:7f00:1]/",
    "http://[::ffff:0:a00:5]/", "http://[64:ff9b::7f00:1]/", "http://[2002:a9fe:a9fe::1]/",
    "http://[::a9fe:a9fe]/",
]


@pytest.fixture
def guarded(base_config):
    """The hub as production runs it: no private or metadata addresses."""
    return create_app({**base_config, "OUTBOUND_ALLOW_PRIVATE": False}).test_client()


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_webhook_urls_to_internal_addresses_are_422(guarded, register, url):
    owner = register()
    resp = guarded.post("/api/v1/webhook-endpoints", headers=owner.headers,
                        json={"url": url, "events": ["job.failed"]})
    assert_error(resp, 422, "VALIDATION_ERROR")


def test_an_endpoint_cannot_be_moved_inside_later(guarded, register):
    owner = register()
    # A public address literal: no DNS look-up, and nothing is sent at creation.
    created = guarded.post("/api/v1/webhook-endpoints", headers=owner.headers,
                           json={"url": "http://8.8.8.8/hook", "events": ["job.failed"]})
    assert created.status_code == 201, created.get_json()
    endpoint_id = created.get_json()["data"]["id"]
    resp = guarded.patch(f"/api/v1/webhook-endpoints/{endpoint_id}", headers=owner.headers,
                         json={"url": "http://169.254.169.254/"})
    assert_error(resp, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_connector_source_urls_to_internal_addresses_are_422(guarded, register, url):
    owner = register()
    resp = guarded.post("/api/v1/connections", headers=owner.headers,
                        json={"connector": "rest", "name": "Inside", "config": {"url": url}})
    assert_error(resp, 422, "VALIDATION_ERROR")


def test_a_connection_cannot_be_moved_inside_later(guarded, register):
    owner = register()
    created = guarded.post("/api/v1/connections", headers=owner.headers,
                           json={"connector": "rest", "name": "Out", "config": {"url": "http://8.8.8.8/items"}})
    assert created.status_code == 201, created.get_json()
    connection_id = created.get_json()["data"]["id"]
    for connector_config in ({"url": "http://169.254.169.254/latest/meta-data/"},
                             {"url": "http://[::1]:6379/"}):
        resp = guarded.patch(f"/api/v1/connections/{connection_id}", headers=owner.headers,
                             json={"config": connector_config})
        assert_error(resp, 422, "VALIDATION_ERROR")
    assert guarded.get(f"/api/v1/connections/{connection_id}", headers=owner.headers
                       ).get_json()["data"]["config"]["url"] == "http://8.8.8.8/items"
