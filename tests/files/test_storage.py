"""The storage adapters alone, against their real peers: a directory and S3 over HTTP."""
from __future__ import annotations

import hashlib
import uuid

import pytest
import requests

from hub.integrations.storage import (
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    StorageError,
    content_disposition,
    make_storage,
)

PART = 5 * 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "objects")
    config = request.getfixturevalue("s3_config")
    return make_storage(config, ".")


def _key() -> str:
    return f"tests/{uuid.uuid4()}/original"


def test_streamed_write_read_head_delete(storage):
    key = _key()
    with storage.writer(key) as writer:
        for _ in range(3):
            writer.write(b"abc" * 1000)
        assert storage.head(key) is None  # nothing visible before commit
        assert writer.commit() == 9000
    assert storage.head(key).size == 9000
    with storage.open(key) as body:
        assert body.read() == b"abc" * 3000
    storage.delete(key)
    assert storage.head(key) is None
    storage.delete(key)  # deleting what is gone is fine


def test_an_aborted_write_leaves_nothing(storage):
    key = _key()
    with pytest.raises(RuntimeError), storage.writer(key) as writer:
        writer.write(b"x" * (PART + 10))  # on S3 a multipart upload has begun
        raise RuntimeError("client went away")
    assert storage.head(key) is None
    if isinstance(storage, S3Storage):
        uploads = storage.client.list_multipart_uploads(Bucket=storage.bucket, Prefix=key)
        assert uploads.get("Uploads", []) == []
    else:
        assert not any(storage.root.rglob("*.part"))


def test_s3_large_object_is_a_multipart_upload(s3_config):
    storage = make_storage(s3_config, ".")
    key = _key()
    data = bytes(range(256)) * (4 * 1024 * 11)  # 11 MiB: two full parts and a tail
    with storage.writer(key) as writer:
        for start in range(0, len(data), 64 * 1024):
            writer.write(data[start:start + 64 * 1024])
        assert len(writer.buffer) < PART + 64 * 1024  # one part in memory, not the object
        writer.commit()
    head = storage.client.head_object(Bucket=storage.bucket, Key=key)
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"')
    with storage.open(key) as body:
        assert hashlib.sha256(body.read()).digest() == hashlib.sha256(data).digest()


def test_missing_object(storage):
    with pytest.raises(ObjectNotFound):
        storage.open(_key())


def test_unreachable_s3_is_a_storage_error(s3_config):
    storage = make_storage({**s3_config, "S3_ENDPOINT_URL": "http://127.0.0.1:9"}, ".")
    with pytest.raises(StorageError):
        storage.head(_key())
    with pytest.raises(StorageError), storage.writer(_key()) as writer:
        writer.write(b"x")
        writer.commit()


def test_local_keys_cannot_escape_the_root(tmp_path):
    storage = LocalStorage(tmp_path / "objects")
    for key in ("../etc/passwd", "a/../../b", "/abs", "a//b", "a/./b", ""):
        with pytest.raises(ValueError):
            storage.path(key)


def test_local_delete_prunes_empty_directories(tmp_path):
    storage = LocalStorage(tmp_path / "objects")
    storage.put_bytes("t/1/f/original", b"data")
    storage.put_bytes("t/1/g/original", b"data")
    storage.delete("t/1/f/original")
    assert not (tmp_path / "objects/t/1/f").exists() and (tmp_path / "objects/t/1/g").exists()


def test_s3_presigned_get_names_the_download(s3_config):
    storage = make_storage(s3_config, ".")
    key = _key()
    storage.put_bytes(key, b"%PDF-1.4 hello")
    url = storage.download_url(key, filename="Ä report.pdf", content_type="application/pdf", expires=60)
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200 and resp.content == b"%PDF-1.4 hello"
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"] == content_disposition("Ä report.pdf")


def test_s3_presigned_post_uploads_to_the_key(s3_config):
    storage = make_storage(s3_config, ".")
    key = _key()
    form = storage.upload_form(key, content_type="text/csv", size=8, expires=60)
    assert form["method"] == "POST" and form["fields"]["key"] == key
    resp = requests.post(form["url"], data=form["fields"],
                         files={form["file_field"]: ("x.csv", b"a,b\n1,2\n", "text/csv")}, timeout=10)
    assert resp.status_code in (200, 201, 204), resp.text
    assert storage.head(key).size == 8


def test_content_disposition_is_safe_for_any_name():
    value = content_disposition('evil";\r\nname.txt')
    assert "\r" not in value and "\n" not in value
    assert value == "attachment; filename=\"evil____name.txt\"; filename*=UTF-8''evil%22%3B%0D%0Aname.txt"


def test_s3_urls_for_browsers_are_signed_for_the_public_endpoint(s3_config):
    storage = make_storage({**s3_config, "S3_PUBLIC_ENDPOINT_URL": "https://files.example.com"}, ".")
    url = storage.download_url("a/b", filename="b.txt", content_type="text/plain", expires=60)
    assert url.startswith(f"https://files.example.com/{storage.bucket}/a/b?")
    form = storage.upload_form("a/b", content_type="text/plain", size=3, expires=60)
    assert form["url"] == f"https://files.example.com/{storage.bucket}"
