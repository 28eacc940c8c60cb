"""Files end to end: real worker processes on each backend, and uploads through gunicorn."""
from __future__ import annotations

import hashlib
import http.client
import json
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from tests.files.conftest import LazyBytes, jpeg_bytes, png_bytes
from tests.files.test_files_api import _download, _presign, _send
from tests.support.helpers import PASSWORD

pytestmark = pytest.mark.e2e


def test_a_worker_processes_every_kind_of_upload(backend, files_client):
    backend.start_worker()
    api = files_client()
    schema = {"columns": [{"name": "sku", "required": True}, {"name": "qty", "type": "integer"}]}
    uploads = {
        "csv": api.upload("stock.csv", b"sku,qty\nA1,3\nB2,many\n,4\n", "text/csv",
                          fields={"csv_schema": schema}),
        "image": api.upload("shot.jpg", jpeg_bytes(900, 300), "image/jpeg"),
        "script": api.upload("innocent.png", b"#!/bin/bash\nrm -rf --no-preserve-root /\n", "image/png"),
        "corrupt": api.upload("bad.png", png_bytes(200, 200)[:300], "image/png"),
    }
    ids = {}
    for name, resp in uploads.items():
        assert resp.status_code == 201, (name, resp.get_json())
        ids[name] = resp.get_json()["data"]["id"]
    direct_data = b"sku,qty\nC3,1\n"
    presigned = _presign(api, direct_data, csv_schema=schema)
    _send(api, presigned["upload"], direct_data)
    assert api.post(f"/{presigned['file']['id']}/complete").status_code == 202
    ids["direct"] = presigned["file"]["id"]

    done = {name: api.wait_done(file_id) for name, file_id in ids.items()}
    assert done["csv"]["status"] == "processed"
    assert [(e["row"], e["column"]) for e in done["csv"]["metadata"]["csv"]["row_errors"]] == [
        (3, "qty"), (4, "sku")]
    assert done["image"]["metadata"]["image"]["width"] == 900 and done["image"]["has_thumbnail"]
    assert done["script"]["content_type"] == "text/x-shellscript"
    assert done["corrupt"]["status"] == "failed" and done["corrupt"]["error"]["code"] == "IMAGE_CORRUPT"
    assert done["direct"]["status"] == "processed" and done["direct"]["metadata"]["csv"]["row_count"] == 1
    for name in ("csv", "image", "script", "direct"):
        assert api.job(done[name]["job_id"])["status"] == "succeeded"
    assert api.job(done["corrupt"]["job_id"])["status"] == "failed"

    thumb = _download(api, f"/{ids['image']}/thumbnail")
    assert thumb.headers["Content-Type"] == "image/jpeg"
    assert api.delete(ids["image"]).status_code == 200
    assert not [k for k in backend.keys(api.tenant_id) if ids["image"] in k]


class LiveUser:
    def __init__(self, base: str) -> None:
        self.base = base
        resp = requests.post(base + "/api/v1/auth/register", timeout=10, json={
            "tenant_name": "Live", "name": "U", "email": f"{uuid.uuid4().hex[:10]}@example.com",
            "password": PASSWORD})
        assert resp.status_code == 201, resp.text
        self.headers = {"Authorization": f"Bearer {resp.json()['data']['access_token']}"}


def _multipart(boundary: str, filename: str, body, content_type: str = "application/octet-stream"):
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
           f"Content-Type: {content_type}\r\n\r\n").encode()
    while chunk := body.read(256 * 1024):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def test_gunicorn_streams_large_and_chunked_uploads(live_server):
    """Over real HTTP: a body past MAX_CONTENT_LENGTH, one without Content-Length, one too large."""
    user = LiveUser(live_server)
    size = 15 * 1024 * 1024
    expected = hashlib.sha256()
    source = LazyBytes(size)
    while chunk := source.read(1 << 20):
        expected.update(chunk)
    # A generator body: requests sends it chunked (no Content-Length).
    resp = requests.post(live_server + "/api/v1/files", timeout=60,
                         data=_multipart("b0undary", "big.bin", LazyBytes(size)),
                         headers={**user.headers, "Content-Type": "multipart/form-data; boundary=b0undary"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["data"]["size"] == size and resp.json()["data"]["sha256"] == expected.hexdigest()
    # With a Content-Length, through requests' own multipart encoder.
    resp = requests.post(live_server + "/api/v1/files", timeout=60, headers=user.headers,
                         files={"file": ("small.txt", b"hello\n", "text/plain")})
    assert resp.status_code == 201, resp.text
    # A Content-Length beyond any limit is refused before a byte of the body is sent.
    url = urlsplit(live_server)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("POST", "/api/v1/files")
    for name, value in {**user.headers, "Content-Length": str(50 * 1024 ** 3),
                        "Content-Type": "multipart/form-data; boundary=x"}.items():
        conn.putheader(name, value)
    conn.endheaders()
    answer = conn.getresponse()
    body = json.loads(answer.read())
    conn.close()
    assert answer.status == 413 and body["code"] == "PAYLOAD_TOO_LARGE"
