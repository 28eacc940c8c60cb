"""The files API on both backends: uploads, bad input, direct uploads, downloads, deletes.

Processing here runs in this process (`run_queued_jobs`); the real worker
runs it in test_files_e2e.py.
"""
from __future__ import annotations

import hashlib
import io
import uuid
from urllib.parse import urlsplit

import requests
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import AuditEvent, File, Job
from tests.files.conftest import Backend, FilesClient, LazyBytes, png_bytes
from tests.support.helpers import assert_error
from tests.support.jobs import run_queued_jobs

CSV = b"name,age\nann,31\nbob,40\n"


def _rows(backend, tenant_id: str) -> int:
    with backend.app.app_context():
        return db.session.scalar(select(func.count()).select_from(File)
                                 .where(File.tenant_id == uuid.UUID(tenant_id)))


def _nothing_left(backend, api) -> None:
    assert backend.keys(api.tenant_id) == []
    assert backend.pending_multipart_uploads(api.tenant_id) == []
    assert _rows(backend, api.tenant_id) == 0


def test_upload_answers_201_with_the_file_and_queues_processing(backend, files_client):
    api = files_client()
    resp = api.upload("people.csv", CSV, "text/csv", headers={"X-Request-ID": "up-1"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    file = body["data"]
    assert body["success"] is True and file["status"] == "uploaded"
    assert file["filename"] == "people.csv" and file["size"] == len(CSV)
    assert file["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert file["declared_content_type"] == "text/csv"
    assert file["content_type"] == "application/octet-stream"  # not trusted before sniffing
    assert file["metadata"] == {} and file["storage_backend"] == backend.name
    job = api.job(file["job_id"])
    assert job["type"] == "file.process" and job["status"] == "queued"
    assert job["payload"] == {"file_id": file["id"]} and job["request_id"] == "up-1"
    # The key is the hub's; the client's name is nowhere in it.
    assert backend.keys(api.tenant_id) == [f"tenants/{api.tenant_id}/files/{file['id']}/original"]
    with backend.app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.object_id == file["id"]))
        assert event.action == "file.uploaded" and event.details["sha256"] == file["sha256"]


def test_upload_larger_than_max_content_length_is_streamed(backend, files_client, monkeypatch):
    """12 MB through a 10 MB app-wide limit; on S3 it becomes a 3-part multipart upload."""
    api = files_client()
    size = 12 * 1024 * 1024
    assert backend.app.config["MAX_CONTENT_LENGTH"] < size
    resp = api.upload("big.bin", LazyBytes(size), "application/octet-stream")
    assert resp.status_code == 201, resp.get_json()
    file = resp.get_json()["data"]
    expected = LazyBytes(size)
    digest = hashlib.sha256()
    while chunk := expected.read(1 << 20):
        digest.update(chunk)
    assert file["size"] == size and file["sha256"] == digest.hexdigest()
    storage = backend.storage
    if backend.name == "s3":
        head = storage.client.head_object(Bucket=storage.bucket,
                                          Key=f"tenants/{api.tenant_id}/files/{file['id']}/original")
        assert head["ContentLength"] == size and head["ETag"].endswith('-3"')


UNSAFE_NAMES = ["../../etc/passwd", "..", "dir/name.txt", "a/../../b.txt", "bad\x00name.txt",
                "line\nbreak.csv", "gpj\u202eexe.txt", "   ", "x" * 300 + ".txt"]


def test_unsafe_file_names_are_refused_and_nothing_is_stored(backend, files_client):
    api = files_client()
    for filename in UNSAFE_NAMES:
        resp = api.upload(filename, CSV, "text/csv")
        body = assert_error(resp, 422, "VALIDATION_ERROR")
        assert "file" in body["details"]["fields"]["files"], filename
    _nothing_left(backend, api)


def test_a_windows_path_never_survives_as_a_path(backend, files_client):
    # Werkzeug unescapes backslashes in the quoted header value, so what reaches
    # the hub has none; either way no separator is ever kept.
    api = files_client()
    resp = api.upload("..\\..\\windows\\win.ini", CSV, "text/csv")
    if resp.status_code == 201:
        name = resp.get_json()["data"]["filename"]
        assert "\\" not in name and "/" not in name
    else:
        assert_error(resp, 422, "VALIDATION_ERROR")


def test_bad_requests_store_nothing(backend, files_client):
    api = files_client()
    # No file part at all.
    body = assert_error(api.upload(None, b"", fields={"note": "x"}), 422, "VALIDATION_ERROR")
    assert body["details"]["fields"]["files"]["file"]
    # Not multipart.
    assert_error(api.post("", json={"file": "aGVsbG8="}), 400, "BAD_REQUEST")
    # An empty file.
    assert_error(api.upload("empty.txt", b""), 422, "VALIDATION_ERROR")
    # A CSV schema that is not one.
    body = assert_error(api.upload("a.csv", CSV, "text/csv", fields={"csv_schema": {"columns": []}}),
                        422, "VALIDATION_ERROR")
    assert "csv_schema" in body["details"]["fields"]["form"]
    assert_error(api.upload("a.csv", CSV, "text/csv", fields={"csv_schema": "{not json"}),
                 422, "VALIDATION_ERROR")
    # A file in another field, and two files in one request.
    resp = api.client.post("/api/v1/files", headers=api.account.headers,
                           content_type="multipart/form-data",
                           data={"upload": (io.BytesIO(CSV), "a.csv")})
    assert_error(resp, 422, "VALIDATION_ERROR")
    resp = api.client.post("/api/v1/files", headers=api.account.headers,
                           content_type="multipart/form-data",
                           data={"file": [(io.BytesIO(CSV), "a.csv"), (io.BytesIO(CSV), "b.csv")]})
    assert_error(resp, 422, "VALIDATION_ERROR")
    # A body cut short.
    boundary = "XyZ"
    cut = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
           "Content-Type: text/plain\r\n\r\nhello wor").encode()
    resp = api.client.post("/api/v1/files", headers=api.account.headers, data=cut,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert_error(resp, 400, "BAD_REQUEST")
    _nothing_left(backend, api)


def test_oversized_upload_is_413_and_leaves_nothing(backend, files_client, monkeypatch):
    api = files_client()
    monkeypatch.setitem(backend.app.config, "MAX_UPLOAD_BYTES", 6 * 1024 * 1024)
    # Past one S3 part, so a multipart upload was under way when the limit hit.
    resp = api.upload("big.bin", LazyBytes(7 * 1024 * 1024))
    body = assert_error(resp, 413, "PAYLOAD_TOO_LARGE")
    assert body["details"]["max_bytes"] == 6 * 1024 * 1024
    # A Content-Length far over the limit is refused before reading.
    resp = api.client.post("/api/v1/files", headers=api.account.headers,
                           content_type="multipart/form-data; boundary=x",
                           input_stream=io.BytesIO(b""),
                           environ_overrides={"CONTENT_LENGTH": str(50 * 1024 * 1024)})
    assert_error(resp, 413, "PAYLOAD_TOO_LARGE")
    _nothing_left(backend, api)


def test_another_tenant_sees_nothing(backend, files_client):
    alice, bob = files_client(), files_client()
    file_id = alice.upload("a.csv", CSV, "text/csv").get_json()["data"]["id"]
    for path in (f"/{file_id}", f"/{file_id}/download", f"/{file_id}/thumbnail"):
        assert_error(bob.get(path), 404, "NOT_FOUND")
    assert_error(bob.post(f"/{file_id}/complete"), 404, "NOT_FOUND")
    assert_error(bob.delete(file_id), 404, "NOT_FOUND")
    assert bob.get("").get_json()["data"] == []
    assert_error(alice.get(f"/{uuid.uuid4()}"), 404, "NOT_FOUND")
    assert_error(alice.delete(str(uuid.uuid4())), 404, "NOT_FOUND")
    assert alice.file(file_id)["status"] == "uploaded"


def test_list_is_paged_newest_first_and_filters_by_status(backend, files_client):
    api = files_client()
    ids = [api.upload(f"f{i}.txt", f"file {i}\n".encode()).get_json()["data"]["id"] for i in range(3)]
    page = api.get("?per_page=2")
    assert [f["id"] for f in page.get_json()["data"]] == ids[::-1][:2]
    assert page.get_json()["meta"]["pagination"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    run_queued_jobs(backend.app, "file.process")
    assert len(api.get("?status=processed").get_json()["data"]) == 3
    assert_error(api.get("?status=sideways"), 422, "VALIDATION_ERROR")


def test_download_delete_and_audit(backend, files_client):
    api = files_client()
    image = png_bytes(320, 200)
    file_id = api.upload("photo.png", image, "image/png").get_json()["data"]["id"]
    # Before processing, the bytes are served without the client's claimed type.
    early = _download(api, f"/{file_id}/download")
    assert early.content == image and early.headers["Content-Type"] == "application/octet-stream"
    run_queued_jobs(backend.app, "file.process")
    file = api.file(file_id)
    assert file["status"] == "processed" and file["has_thumbnail"] is True
    resp = _download(api, f"/{file_id}/download")
    assert resp.content == image and resp.headers["Content-Type"] == "image/png"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="photo.png"')
    thumb = _download(api, f"/{file_id}/thumbnail")
    assert thumb.headers["Content-Type"] == "image/jpeg" and thumb.content.startswith(b"\xff\xd8")
    assert len(backend.keys(api.tenant_id)) == 2

    resp = api.delete(file_id)
    assert resp.status_code == 200 and resp.get_json()["data"] is None
    assert_error(api.get(f"/{file_id}"), 404, "NOT_FOUND")
    assert_error(api.get(f"/{file_id}/download"), 404, "NOT_FOUND")
    _nothing_left(backend, api)
    with backend.app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == file_id)
                                     .order_by(AuditEvent.created_at)).all()
    assert actions == ["file.uploaded", "file.deleted"]


def _download(api, path: str):
    """Follow the API's answer as a browser would: the bytes, or the redirect to them."""
    resp = api.get(path)
    if resp.status_code == 302:
        assert api.backend.name == "s3"
        target = requests.get(resp.headers["Location"], timeout=10)
        assert target.status_code == 200
        return target
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert api.backend.name == "local"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"

    class Fetched:
        content = resp.get_data()
        headers = resp.headers

    return Fetched


def test_file_without_thumbnail_has_no_thumbnail_route(backend, files_client):
    api = files_client()
    file_id = api.upload("a.csv", CSV, "text/csv").get_json()["data"]["id"]
    run_queued_jobs(backend.app, "file.process")
    assert_error(api.get(f"/{file_id}/thumbnail"), 404, "NOT_FOUND")


def test_deleting_a_file_cancels_its_queued_processing(backend, files_client):
    api = files_client()
    file = api.upload("a.csv", CSV, "text/csv").get_json()["data"]
    assert api.delete(file["id"]).status_code == 200
    assert api.job(file["job_id"])["status"] == "cancelled"
    assert run_queued_jobs(backend.app, "file.process") == []
    _nothing_left(backend, api)


def test_same_idempotency_key_same_file_replays_the_first_answer(backend, files_client):
    api = files_client()
    key = {"Idempotency-Key": "upload-123"}
    first = api.upload("a.csv", CSV, "text/csv", headers=key)
    again = api.upload("a.csv", CSV, "text/csv", headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["data"]["id"] == first.get_json()["data"]["id"]
    assert _rows(backend, api.tenant_id) == 1 and len(backend.keys(api.tenant_id)) == 1
    other = api.upload("a.csv", CSV + b"carl,50\n", "text/csv", headers=key)
    assert_error(other, 409, "CONFLICT")
    assert _rows(backend, api.tenant_id) == 1 and len(backend.keys(api.tenant_id)) == 1


def _presign(api, data: bytes, content_type: str = "text/csv", **extra):
    resp = api.post("/presign", json={"filename": "direct.csv", "content_type": content_type,
                                      "size": len(data), **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["data"]


def _send(api, upload: dict, data: bytes, content_type: str = "text/csv"):
    """Send the bytes where /presign said, as a browser would."""
    if upload["method"] == "POST":  # S3: a form upload straight to the bucket
        resp = requests.post(upload["url"], data=upload["fields"], timeout=10,
                             files={upload["file_field"]: ("direct.csv", data, content_type)})
        assert resp.status_code in (200, 201, 204), resp.text
        return resp
    assert upload["method"] == "PUT"  # local: the hub's signed URL, no bearer token
    url = urlsplit(upload["url"])
    return api.client.put(f"{url.path}?{url.query}", data=data, headers=upload["headers"])


def test_direct_upload_then_complete_processes_the_file(backend, files_client):
    api = files_client()
    data = b"email,age\nann@example.com,31\nnot-an-email,x\n"
    schema = {"columns": [{"name": "email", "type": "email", "required": True},
                          {"name": "age", "type": "integer"}]}
    presigned = _presign(api, data, csv_schema=schema)
    file, upload = presigned["file"], presigned["upload"]
    assert file["status"] == "pending" and file["size"] is None
    assert upload["method"] == ("POST" if backend.name == "s3" else "PUT")
    assert upload["expires_in"] == backend.app.config["STORAGE_UPLOAD_URL_SECONDS"]
    # Completing before the upload is a conflict, and changes nothing.
    assert_error(api.post(f"/{file['id']}/complete"), 409, "CONFLICT")
    _send(api, upload, data)
    resp = api.post(f"/{file['id']}/complete")
    assert resp.status_code == 202, resp.get_json()
    done = resp.get_json()["data"]
    assert done["status"] == "uploaded" and done["size"] == len(data) and done["job_id"]
    assert_error(api.post(f"/{file['id']}/complete"), 409, "CONFLICT")
    run_queued_jobs(backend.app, "file.process")
    file = api.file(file["id"])
    assert file["status"] == "processed" and file["content_type"] == "text/csv"
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    assert file["metadata"]["csv"]["invalid_rows"] == 1


def test_direct_upload_of_the_wrong_size_is_discarded(backend, files_client):
    api = files_client()
    presigned = _presign(api, b"a,b\n1,2\n")
    file_id, upload = presigned["file"]["id"], presigned["upload"]
    if backend.name == "s3":
        _send(api, upload, b"a,b\n1,2\n3,4\n")  # S3 would refuse this; moto does not check
        body = assert_error(api.post(f"/{file_id}/complete"), 422, "VALIDATION_ERROR")
        assert body["details"] == {"expected_size": 8, "size": 12}
    else:
        assert_error(_send(api, upload, b"a,b\n1,2\n3,4\n"), 413, "PAYLOAD_TOO_LARGE")
        assert_error(_send(api, upload, b"a,b\n"), 422, "VALIDATION_ERROR")
    assert backend.keys(api.tenant_id) == []
    assert api.file(file_id)["status"] == "pending"  # a correct upload may follow


def test_presign_refuses_bad_input(backend, files_client, monkeypatch):
    api = files_client()
    monkeypatch.setitem(backend.app.config, "MAX_UPLOAD_BYTES", 1000)
    for body, field in (({"filename": "../x.csv", "content_type": "text/csv", "size": 5}, "filename"),
                        ({"filename": "x.csv", "content_type": "text/csv", "size": 1001}, "size"),
                        ({"filename": "x.csv", "content_type": "text/csv", "size": 0}, "size"),
                        ({"filename": "x.csv", "content_type": "nonsense", "size": 5}, "content_type"),
                        ({"filename": "x.csv", "size": 5}, "content_type")):
        resp = api.post("/presign", json=body)
        assert field in assert_error(resp, 422, "VALIDATION_ERROR")["details"]["fields"]["json"]
    _nothing_left(backend, api)


def test_local_upload_url_is_bound_to_its_file_and_signature(app, base_config, register):
    backend = Backend("local", app, base_config, start_worker=lambda: None)
    api = FilesClient(backend, register())
    upload = _presign(api, b"a,b\n1,2\n")["upload"]
    url = urlsplit(upload["url"])
    other = api.post("/presign", json={"filename": "o.csv", "content_type": "text/csv", "size": 8})
    other_id = other.get_json()["data"]["file"]["id"]
    forged = url.query.replace("token=", "token=x")
    for path, query in ((url.path, forged), (f"/api/v1/files/{other_id}/content", url.query)):
        resp = api.client.put(f"{path}?{query}", data=b"a,b\n1,2\n", headers=upload["headers"])
        assert_error(resp, 403, "FORBIDDEN")
    resp = api.client.put(f"{url.path}?{url.query}", data=b"a,b\n1,2\n",
                          headers={"Content-Type": "image/png"})
    assert_error(resp, 422, "VALIDATION_ERROR")
    assert backend.keys(api.tenant_id) == []


def test_job_types_list_file_process_as_internal(client, register):
    owner = register()
    types = {t["name"]: t for t in owner.get("/api/v1/jobs/types").get_json()["data"]}
    assert types["file.process"]["queue"] == "files" and types["file.process"]["creatable"] is False
    resp = owner.post("/api/v1/jobs", json={"type": "file.process",
                                            "payload": {"file_id": str(uuid.uuid4())}})
    assert_error(resp, 422, "VALIDATION_ERROR")


def test_no_job_row_without_a_file_row(backend, files_client):
    """Rejected uploads create no job either."""
    api = files_client()
    api.upload("../x", CSV)
    api.upload("empty", b"")
    with backend.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)
                                 .where(Job.tenant_id == uuid.UUID(api.tenant_id))) == 0


def test_status_reads_processing_while_the_job_runs(app, base_config, register):
    backend = Backend("local", app, base_config, start_worker=lambda: None)
    api = FilesClient(backend, register())
    file = api.upload("a.txt", b"hello\n").get_json()["data"]
    with app.app_context():
        db.session.get(Job, uuid.UUID(file["job_id"])).status = "running"
        db.session.commit()
    assert api.file(file["id"])["status"] == "processing"
    assert api.get("?status=uploaded").get_json()["data"][0]["status"] == "processing"


def test_an_api_key_can_upload(app, base_config, register):
    owner = register()
    key = owner.post("/api/v1/api-keys", json={"name": "uploader"}).get_json()["data"]
    resp = app.test_client().post("/api/v1/files", headers={"X-API-Key": key["key"]},
                                  content_type="multipart/form-data",
                                  data={"file": (io.BytesIO(b"hi\n"), "k.txt", "text/plain")})
    assert resp.status_code == 201, resp.get_json()
    with app.app_context():
        row = db.session.get(File, uuid.UUID(resp.get_json()["data"]["id"]))
        assert row.created_by is None and str(row.created_by_api_key) == key["id"]
