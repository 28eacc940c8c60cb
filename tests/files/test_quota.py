"""Per-tenant storage quota by tier: finished uploads, pending direct
uploads and deletes count; over quota is 413 QUOTA_EXCEEDED and nothing is left behind."""
from __future__ import annotations

import uuid

import pytest

from hub.extensions import db
from hub.models import Tenant
from tests.support.helpers import assert_error


@pytest.fixture
def quota(backend, monkeypatch):
    """Set the quota (bytes) of the tiers on the backend's app."""
    def set_quota(standard: int | None, free: int | None = None) -> None:
        monkeypatch.setitem(backend.app.config, "TENANT_STORAGE_QUOTA_BYTES",
                            {"free": free, "standard": standard, "enterprise": None})
    return set_quota


def _presign(api, size: int):
    return api.post("/presign", json={"filename": "d.bin", "content_type": "application/octet-stream",
                                      "size": size})


def test_streamed_uploads_count_and_deletes_free_their_bytes(backend, files_client, quota):
    quota(standard=10)
    api = files_client()
    first = api.upload("a.txt", b"123456")
    assert first.status_code == 201, first.get_json()
    over = assert_error(api.upload("b.txt", b"abcdef"), 413, "QUOTA_EXCEEDED")
    assert over["details"]["quota_bytes"] == 10 and over["details"]["used_bytes"] == 6
    assert "quota" in over["message"]
    assert len(backend.keys(api.tenant_id)) == 1  # the refused upload left nothing behind
    assert backend.pending_multipart_uploads(api.tenant_id) == []
    assert api.delete(first.get_json()["data"]["id"]).status_code == 200
    assert api.upload("b.txt", b"abcdef").status_code == 201


def test_a_full_tenant_is_refused_before_a_byte_is_stored(backend, files_client, quota):
    quota(standard=4)
    api = files_client()
    assert api.upload("a.txt", b"1234").status_code == 201
    assert_error(api.upload("b.txt", b"5"), 413, "QUOTA_EXCEEDED")
    assert len(backend.keys(api.tenant_id)) == 1


def test_pending_direct_uploads_count_at_their_announced_size(backend, files_client, quota):
    quota(standard=10)
    api = files_client()
    pending = _presign(api, 8)
    assert pending.status_code == 201, pending.get_json()
    assert_error(_presign(api, 5), 413, "QUOTA_EXCEEDED")
    assert_error(api.upload("c.txt", b"abc"), 413, "QUOTA_EXCEEDED")
    assert api.delete(pending.get_json()["data"]["file"]["id"]).status_code == 200
    assert _presign(api, 5).status_code == 201


def test_the_quota_is_by_tier_and_other_tenants_are_not_affected(backend, files_client, quota):
    quota(standard=100, free=3)
    free, standard = files_client(), files_client()
    with backend.app.app_context():
        db.session.get(Tenant, uuid.UUID(free.tenant_id)).tier = "free"
        db.session.commit()
    assert_error(free.upload("a.txt", b"1234"), 413, "QUOTA_EXCEEDED")
    assert standard.upload("a.txt", b"1234").status_code == 201
    quota(standard=None, free=None)  # null: no quota
    assert free.upload("a.txt", b"1234").status_code == 201
