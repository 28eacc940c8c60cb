"""The bundled sample source (/demo-source/items) serves outside production only, unless
SYNC_DEMO_SOURCE_ENABLED says otherwise."""
from __future__ import annotations

import pytest

from hub import create_app
from tests.support.helpers import PRODUCTION_SETTINGS, assert_error


def _production(base_config, **extra):
    return create_app({**PRODUCTION_SETTINGS, "DATABASE_URL": base_config["DATABASE_URL"],
                       "REDIS_URL": base_config["REDIS_URL"], **extra}).test_client()


def test_it_serves_outside_production(client):
    page = client.get("/demo-source/items?page=5&per_page=10")
    assert page.status_code == 200
    body = page.get_json()
    assert body["total"] == 42 and [i["id"] for i in body["items"]] == [41, 42]


def test_it_is_not_there_in_production(base_config):
    assert_error(_production(base_config).get("/demo-source/items"), 404, "NOT_FOUND")


@pytest.mark.parametrize("setting, status", [(True, 200), (False, 404)])
def test_the_setting_decides_over_the_environment(base_config, setting, status):
    assert _production(base_config, SYNC_DEMO_SOURCE_ENABLED=setting).get("/demo-source/items").status_code \
        == status
    testing = create_app({**base_config, "SYNC_DEMO_SOURCE_ENABLED": setting}).test_client()
    assert testing.get("/demo-source/items").status_code == status
