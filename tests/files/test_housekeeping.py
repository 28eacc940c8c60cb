"""What abandoned uploads leave behind is removed: stale pending files, partial objects."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditEvent, File, utcnow
from hub.services import files
from tests.files.test_files_api import _presign, _send


def test_stale_direct_uploads_and_partial_objects_are_purged(backend, files_client):
    api = files_client()
    stale = _presign(api, b"a,b\n1,2\n")
    _send(api, stale["upload"], b"a,b\n1,2\n")  # uploaded, but never completed
    fresh = _presign(api, b"a,b\n")
    kept = api.upload("kept.txt", b"hello\n").get_json()["data"]
    storage = backend.storage
    with backend.app.app_context():
        row = db.session.get(File, uuid.UUID(stale["file"]["id"]))
        row.created_at = utcnow() - timedelta(hours=30)
        db.session.commit()
        assert files.purge_abandoned(timedelta(hours=24))["pending_files"] == 1
        # A write cut off mid-way (its process was killed) leaves a partial object.
        writer = storage.writer(f"tenants/{api.tenant_id}/files/{uuid.uuid4()}/original")
        writer.write(b"x" * (6 * 1024 * 1024))
        if backend.name == "local":
            # Judged by age (moto dates every multipart upload 2010, so only here).
            assert storage.purge_incomplete("tenants/", 3600) == 0
        assert storage.purge_incomplete("tenants/", 0) == 1
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.object_id == stale["file"]["id"],
                                                           AuditEvent.action == "file.expired"))
        assert audit is not None and audit.actor_user_id is None
    assert api.get(f"/{stale['file']['id']}").status_code == 404
    assert api.file(fresh["file"]["id"])["status"] == "pending"
    assert backend.keys(api.tenant_id) == [f"tenants/{api.tenant_id}/files/{kept['id']}/original"]
    assert backend.pending_multipart_uploads(api.tenant_id) == []
    if backend.name == "local":
        assert not any(storage.root.rglob("*.part"))


def test_the_beat_task_runs_once_per_round(app, register):
    from tasks.files import purge_abandoned_uploads
    from workers.periodic import beat_schedule

    assert "hub.maintenance.purge_abandoned_uploads" in beat_schedule(app)
    with app.app_context():
        assert purge_abandoned_uploads() == {"pending_files": 0, "partial_objects": 0}
