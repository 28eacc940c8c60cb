"""The `rest` connector's options end to end: a real worker syncs from a real HTTP source on
loopback that pages by cursor, answers in one piece, wants its own auth header, or refuses."""
from __future__ import annotations

import json

import pytest

from tests.support.http_fake import Answer, FakeHTTPServer
from tests.support.jobs import wait_for_job
from tests.sync.conftest import records, sync

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("sync_worker", "sync_beat")]

PRODUCTS = [{"sku": f"P-{n}", "name": f"Product {n}", "price": {"amount": n * 100, "currency": "eur"},
             "internal": "not wanted"} for n in range(1, 8)]


def _connect(owner, config: dict, credentials: dict | None = None) -> dict:
    body = {"connector": "rest", "name": "Shop", "config": config}
    if credentials:
        body["credentials"] = credentials
    resp = owner.post("/api/v1/connections", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["data"]


def test_cursor_pagination_field_mapping_and_a_custom_auth_header(register):
    cursors = {None: (0, "c-3"), "c-3": (3, "c-6"), "c-6": (6, "")}  # "" = no next page

    def cursor_pages(request):
        if request.headers.get("x-shop-key") != "shop-secret-1":
            return 401
        start, following = cursors[request.param("after")]
        return {"data": {"results": PRODUCTS[start:start + 3]}, "meta": {"next": following}}

    with FakeHTTPServer(cursor_pages) as source:
        owner = register()
        conn = _connect(owner, {
            "url": source.url("/v2/products"), "pagination": "cursor", "cursor_param": "after",
            "next_cursor_path": "meta.next", "items_path": "data.results", "id_field": "sku",
            "field_mapping": {"title": "name", "cents": "price.amount"},
            "auth_header": "X-Shop-Key", "auth_scheme": ""}, {"token": "shop-secret-1"})
        job = wait_for_job(owner, sync(owner, conn["id"])["id"], "succeeded")
        sent = source.requests("/v2/products")

    assert [r.param("after") for r in sent] == [None, "c-3", "c-6"]
    assert all(r.headers["x-shop-key"] == "shop-secret-1" and "authorization" not in r.headers
               for r in sent)
    assert "page" not in sent[0].query and "per_page" not in sent[0].query
    assert job["result"]["pages"] == 3 and job["result"]["created"] == 7
    stored = {r["external_id"]: r["data"] for r in records(owner, conn["id"])}
    assert set(stored) == {f"P-{n}" for n in range(1, 8)}
    assert stored["P-5"] == {"title": "Product 5", "cents": 500}  # mapped: nothing else kept


def test_no_pagination_reads_the_one_answer_once(register):
    with FakeHTTPServer(Answer(200, PRODUCTS)) as source:  # the body itself is the list
        owner = register()
        conn = _connect(owner, {"url": source.url("/all?region=eu"), "pagination": "none",
                                "items_path": "", "id_field": "sku"})
        job = wait_for_job(owner, sync(owner, conn["id"])["id"], "succeeded")
        (request,) = source.requests()

    assert request.query == {"region": ["eu"]}  # no page or cursor parameters added
    assert job["result"]["pages"] == 1 and job["result"]["created"] == 7
    stored = {r["external_id"]: r["data"] for r in records(owner, conn["id"])}
    assert stored["P-2"] == PRODUCTS[1]  # no field_mapping: the whole item


def test_a_403_from_the_source_fails_at_once_and_asks_for_attention(register):
    with FakeHTTPServer(Answer(403, {"error": "key revoked"})) as source:
        owner = register()
        conn = _connect(owner, {"url": source.url("/items")}, {"token": "revoked-key-77"})
        job = wait_for_job(owner, sync(owner, conn["id"])["id"], "failed")
        assert len(source.requests()) == 1  # bad credentials are not retried

    assert job["attempts"] == 1 and job["error"]["code"] == "SYNC_AUTH_FAILED"
    assert "403" in job["error"]["message"] and "revoked-key-77" not in json.dumps(job)
    state = owner.get(f"/api/v1/connections/{conn['id']}").get_json()["data"]
    assert state["status"] == "needs_attention" and "403" in state["status_reason"]
    assert state["last_sync_status"] == "failed"
