"""Fixtures for files: both storage backends, each with its app and its workers.

The S3 backend is moto's S3 server over real HTTP on a free port (boto3 talks
to it like to any S3-compatible endpoint); its app is a second hub app on the
same PostgreSQL and Redis with S3 settings, and its workers get those
settings as their environment. The local backend is the test app itself
(`STORAGE_LOCAL_ROOT` is in `base_config`).
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest

from hub.integrations.storage import LocalStorage, S3Storage, make_storage
from tests.support.processes import wait_until

BUCKET = "hub-test-files"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_config(base_config: dict[str, Any], moto_endpoint: str) -> dict[str, Any]:
    config = {**base_config, "STORAGE_BACKEND": "s3", "S3_BUCKET": BUCKET,
              "S3_ENDPOINT_URL": moto_endpoint, "S3_REGION": "us-east-1",
              "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing",
              "S3_PART_SIZE": 5 * 1024 * 1024}
    storage = make_storage(config, ".")
    storage.client.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
    return config


@pytest.fixture(scope="session")
def s3_app(app, s3_config: dict[str, Any]):
    """A second hub app with the S3 backend (the `app` fixture migrated the database)."""
    from hub import create_app

    return create_app(s3_config)


@dataclass
class Backend:
    """One storage backend as the tests use it."""

    name: str
    app: Any
    config: dict[str, Any]
    start_worker: Callable[[], Any]

    @property
    def client(self):
        return self.app.test_client()

    @property
    def storage(self) -> LocalStorage | S3Storage:
        with self.app.app_context():
            from hub.services.files import current_storage

            return current_storage()  # type: ignore[return-value]

    def keys(self, tenant_id: str) -> list[str]:
        """Every object stored for a tenant (to prove nothing was left behind)."""
        prefix = f"tenants/{tenant_id}/"
        storage = self.storage
        if isinstance(storage, S3Storage):
            listing = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=prefix)
            return sorted(obj["Key"] for obj in listing.get("Contents", []))
        root = storage.root / prefix
        return sorted(str(p.relative_to(storage.root)) for p in root.rglob("*") if p.is_file()) \
            if root.exists() else []

    def pending_multipart_uploads(self, tenant_id: str) -> list[str]:
        storage = self.storage
        if not isinstance(storage, S3Storage):
            return []
        listing = storage.client.list_multipart_uploads(Bucket=storage.bucket,
                                                        Prefix=f"tenants/{tenant_id}/")
        return [u["Key"] for u in listing.get("Uploads", [])]


@pytest.fixture(params=["local", "s3"])
def backend(request, app) -> Iterator[Backend]:
    """Each test using it runs on the local directory and on S3 (moto over HTTP)."""
    workers = request.getfixturevalue("workers")
    if request.param == "local":
        yield Backend("local", app, workers.config, workers.worker)
        return
    s3_app, config = request.getfixturevalue("s3_app"), request.getfixturevalue("s3_config")
    yield Backend("s3", s3_app, config, lambda: workers.worker("s3-worker", config))


class FilesClient:
    """A user of the files API on one backend's app."""

    def __init__(self, backend: Backend, account) -> None:
        self.backend = backend
        self.account = account
        self.client = backend.client
        self.tenant_id = account.tenant["id"]

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**self.account.headers, **(extra or {})}

    def upload(self, filename: str | None, data: bytes | io.IOBase, content_type: str = "text/plain",
               fields: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        form: dict[str, Any] = {}
        for name, value in (fields or {}).items():
            form[name] = value if isinstance(value, str) else json.dumps(value)
        if filename is not None:
            stream = io.BytesIO(data) if isinstance(data, bytes) else data
            form["file"] = (stream, filename, content_type)
        return self.client.post("/api/v1/files", data=form, headers=self._headers(headers),
                                content_type="multipart/form-data")

    def get(self, path: str = "", **kw):
        return self.client.get(f"/api/v1/files{path}", headers=self._headers(kw.pop("headers", None)),
                               **kw)

    def post(self, path: str, **kw):
        return self.client.post(f"/api/v1/files{path}", headers=self._headers(kw.pop("headers", None)),
                                **kw)

    def delete(self, file_id: str):
        return self.client.delete(f"/api/v1/files/{file_id}", headers=self._headers())

    def file(self, file_id: str) -> dict[str, Any]:
        resp = self.get(f"/{file_id}")
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["data"]

    def wait_done(self, file_id: str, timeout: float = 60) -> dict[str, Any]:
        """Wait until processing ended (processed or failed); the file as then."""
        return wait_until(lambda: (f := self.file(file_id))["status"] in ("processed", "failed") and f,
                          timeout, f"file {file_id} to be processed")

    def job(self, job_id: str) -> dict[str, Any]:
        return self.client.get(f"/api/v1/jobs/{job_id}", headers=self._headers()).get_json()["data"]


@pytest.fixture
def files_client(backend: Backend, register) -> Callable[..., FilesClient]:
    def make(account=None) -> FilesClient:
        return FilesClient(backend, account or register())

    return make


def png_bytes(width: int = 640, height: int = 480, mode: str = "RGB") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128)).save(
        out, format="PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 800, height: int = 600) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, format="JPEG", quality=90)
    return out.getvalue()


class LazyBytes(io.RawIOBase):
    """`size` bytes of a repeating pattern, made as they are read (never all in memory)."""

    def __init__(self, size: int, pattern: bytes = b"0123456789abcdef" * 4096) -> None:
        self.size, self.pos, self.pattern = size, 0, pattern

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.pos)
        if n <= 0:
            return 0
        start = self.pos % len(self.pattern)
        chunk = (self.pattern[start:] + self.pattern * (n // len(self.pattern) + 1))[:n]
        buffer[:n] = chunk
        self.pos += n
        return n


def sha256_of_stream(stream: io.RawIOBase) -> str:
    import hashlib

    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()
