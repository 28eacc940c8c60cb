"""The connectors' HTTP client against a real loopback source, and the upsert on SQLite (`make run`)."""
from __future__ import annotations

import uuid

import pytest

from hub.integrations.connectors.base import Record
from hub.integrations.connectors.http import AuthFailed, ConnectorError, HttpClient, TemporaryFailure


def _client(**kw) -> HttpClient:
    return HttpClient(allow_private=True, timeout=5, retries=3, backoff=0.01, max_inline_wait=1, **kw)


def test_server_errors_are_retried_then_the_page_comes_back(source):
    source.fail(1, 500, 503)
    body = _client().get_json(source.url, params={"page": 1})
    assert [i["id"] for i in body["items"]] == list(range(1, 11))
    assert source.pages_requested() == [1, 1, 1]


def test_persistent_errors_and_long_retry_after_raise_temporary_failure(source):
    source.fail(1, 500, 500, 500, 500)
    with pytest.raises(TemporaryFailure) as failed:
        _client().get_json(source.url, params={"page": 1})
    assert "HTTP 500" in str(failed.value) and len(source.requests) == 4
    source.fail(2, {"status": 429, "headers": {"Retry-After": "120"}})
    with pytest.raises(TemporaryFailure) as limited:
        _client().get_json(source.url, params={"page": 2})
    assert limited.value.retry_after == 120.0


def test_refused_credentials_fail_at_once(source):
    source.token = "right"
    with pytest.raises(AuthFailed, match="401"):
        _client().get_json(source.url, headers={"Authorization": "Bearer wrong"})
    assert len(source.requests) == 1


def test_the_ssrf_guard_applies_to_connectors(source):
    with pytest.raises(ConnectorError, match="not allowed"):
        HttpClient(allow_private=False).get_json(source.url)
    assert source.requests == []


def test_upsert_counts_and_soft_deletes(app_ctx):
    from hub.extensions import db
    from hub.models import Connection, SyncRecord
    from hub.services import accounts
    from hub.services.sync.store import mark_unseen_deleted, upsert_records

    tenant = accounts.create_tenant("Local", "standard")
    db.session.commit()
    conn = Connection(id=uuid.uuid4(), tenant_id=tenant.id, connector="rest", name="c", config={},
                      status="ok", run_number=1, run_active=True)
    db.session.add(conn)
    db.session.commit()
    first = [Record(str(n), {"n": n}) for n in range(10)]
    assert upsert_records(tenant.id, conn.id, 1, first, batch_size=3) == {"created": 10}
    db.session.commit()
    second = [Record(str(n), {"n": n, "x": 1} if n == 4 else {"n": n}) for n in range(1, 11)]
    counts = upsert_records(tenant.id, conn.id, 2, second, batch_size=4)
    assert counts == {"created": 1, "updated": 1, "unchanged": 8}
    assert mark_unseen_deleted(conn.id, 2) == 1
    db.session.commit()
    rows = {r.external_id: r for r in db.session.scalars(db.select(SyncRecord))}
    assert len(rows) == 11 and rows["0"].deleted_at is not None
    assert rows["4"].data == {"n": 4, "x": 1} and rows["5"].seen_run == 2
