"""API1:2023 Broken Object Level Authorization: another tenant's ids are 404, on every route."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.security.conftest import operations
from tests.security.routes import BOLA, BOLA_EXTRA, READ_BACK, SIGNED_URL_ROUTES
from tests.support.helpers import assert_error

CASES = [(m, p, kind) for (m, p), (kind, _body) in BOLA.items()] + BOLA_EXTRA


def test_every_operation_with_an_id_in_its_path_has_a_bola_case(openapi):
    with_ids = {(m, p) for m, p, _op in operations(openapi) if re.search(r"\{\w+_id\}", p)}
    covered = set(BOLA) | set(SIGNED_URL_ROUTES)
    missing = with_ids - covered
    assert not missing, f"add these to tests/security/routes.py BOLA: {sorted(missing)}"
    assert not covered - with_ids, "BOLA lists routes the API no longer has"


def _call(account, method: str, path: str, body):
    return getattr(account, method.lower())(path, **({"json": body} if body is not None else {}))


@pytest.mark.parametrize("as_api_key", [False, True], ids=["jwt", "api-key"])
def test_other_tenants_ids_are_404_on_every_route(tenants, as_api_key):
    victim, attacker = tenants
    for method, template, kind in CASES:
        path = re.sub(r"\{\w+_id\}", victim.ids[kind], template)
        body = BOLA.get((method, template), (kind, None))[1]
        if as_api_key:
            resp = attacker.owner.client.open(path, method=method, json=body,
                                              headers={"X-API-Key": attacker.secrets["api_key"]})
            if resp.status_code == 401:  # user-only route (API keys manage no keys): refused earlier
                continue
        else:
            resp = _call(attacker.owner, method, path, body)
        assert resp.status_code == 404, (method, path, resp.status_code, resp.get_json())
        assert_error(resp, 404, "NOT_FOUND")

    # Nothing the attacker sent changed the victim's objects.
    for kind, template in READ_BACK.items():
        resp = victim.owner.get(template.format(id=victim.ids[kind]))
        assert resp.status_code == 200, (kind, resp.get_json())
    assert victim.owner.get(f"/api/v1/jobs/{victim.ids['job']}").get_json()["data"]["status"] == "queued"
    user = victim.owner.get(f"/api/v1/users/{victim.ids['user']}").get_json()["data"]
    assert user["name"] != "Pwned"
    endpoint = victim.owner.get(f"/api/v1/webhook-endpoints/{victim.ids['endpoint']}").get_json()["data"]
    assert endpoint["enabled"] is True
    keys = victim.owner.get("/api/v1/api-keys").get_json()["data"]
    assert victim.ids["api_key"] in [k["id"] for k in keys]
    # The attacker's own calls on its objects still work: the 404s are not a broken route.
    assert attacker.owner.get(f"/api/v1/jobs/{attacker.ids['job']}").status_code == 200


def test_lists_only_show_the_callers_tenant(tenants):
    victim, attacker = tenants
    for path, kind in [("/api/v1/users", "user"), ("/api/v1/jobs", "job"),
                       ("/api/v1/api-keys", "api_key"), ("/api/v1/webhook-endpoints", "endpoint"),
                       ("/api/v1/files", "file"), ("/api/v1/invoices", "invoice"),
                       ("/api/v1/payments/reconciliations", "reconciliation"),
                       ("/api/v1/payments/stripe-links", "stripe_link"),
                       ("/api/v1/connections", "connection"), ("/api/v1/audit-events", None)]:
        data = attacker.owner.get(path).get_json()["data"]
        assert data, path
        seen = {str(v) for item in data for v in item.values() if isinstance(v, str)}
        assert victim.tenant_id not in seen, path
        if kind:
            assert victim.ids[kind] not in seen, path


def test_a_signed_upload_url_works_only_for_its_own_file(tenants):
    """The attacker's valid upload URL, with the victim's file id put in its path, is refused
    and the victim's pending file receives nothing."""
    victim, attacker = tenants
    for (method, _template), kind in SIGNED_URL_ROUTES.items():
        own = urlsplit(attacker.secrets["upload_url"])
        path = own.path.replace(attacker.ids[kind], victim.ids[kind]) + "?" + own.query
        assert victim.ids[kind] in path
        resp = attacker.owner.client.open(path, method=method, data=b"pwned\n", content_type="text/plain")
        assert_error(resp, 403, "FORBIDDEN")
    file = victim.owner.get(f"/api/v1/files/{victim.ids['pending_file']}").get_json()["data"]
    assert file["status"] == "pending"
    assert_error(victim.owner.post(f"/api/v1/files/{victim.ids['pending_file']}/complete"), 409, "CONFLICT")
