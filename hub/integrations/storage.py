"""Object storage behind one interface: a local directory, or S3 through boto3.

Plain values in and out: keys are strings the hub makes, bodies are bytes or
readable streams. Nothing here knows about files, tenants or models.

Writes stream: `writer(key)` takes chunks and never holds the whole object;
on S3 a large object becomes a multipart upload of `part_size` parts, so
memory stays about one part whatever the object's size. An object appears
only on `commit()`; `abort()` (or leaving the `with` block on an error) leaves
nothing behind.

Errors: `ObjectNotFound` for a missing key, `StorageError` for everything
else (unreachable endpoint, full disk, denied access): worth retrying later.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote

log = logging.getLogger(__name__)

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,1023}$")


class StorageError(Exception):
    """The storage backend failed or is unreachable; worth retrying."""


class ObjectNotFound(Exception):
    """No object under this key."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str | None = None


class ObjectWriter(Protocol):
    """A streaming write of one object; use as a context manager."""

    written: int

    def write(self, data: bytes) -> None: ...

    def commit(self) -> int: ...

    def abort(self) -> None: ...

    def __enter__(self) -> ObjectWriter: ...

    def __exit__(self, *exc: Any) -> None: ...


class Storage(Protocol):
    backend: str

    def writer(self, key: str, content_type: str | None = None) -> ObjectWriter: ...

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def delete(self, *keys: str) -> None: ...

    def download_url(self, key: str, *, filename: str, content_type: str,
                     expires: int) -> str | None: ...

    def upload_form(self, key: str, *, content_type: str, size: int,
                    expires: int) -> dict[str, Any] | None: ...


def check_key(key: str) -> str:
    """Refuse keys that could escape a directory or confuse a backend."""
    if not _KEY_RE.match(key) or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}")
    return key


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """`attachment; filename="..."; filename*=UTF-8''...` (RFC 6266 / 5987)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r'[^A-Za-z0-9._ ()+-]', "_", ascii_name).strip() or "download"
    return (f'{disposition}; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(filename, safe='')}")


class _WriterBase:
    written = 0
    _done = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._done:
            self.abort()


# --- local directory ----------------------------------------------------------

class LocalStorage:
    """Objects are files under `root`; writes go to a temp file renamed on commit."""

    backend = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"invalid storage key {key!r}")
        return path

    def writer(self, key: str, content_type: str | None = None) -> _LocalWriter:
        return _LocalWriter(self.path(key))

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        with self.writer(key, content_type) as writer:
            writer.write(data)
            writer.commit()

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self.path(key), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror}") from exc

    def head(self, key: str) -> ObjectInfo | None:
        try:
            return ObjectInfo(key=key, size=self.path(key).stat().st_size)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot stat {key}: {exc.strerror}") from exc

    def delete(self, *keys: str) -> None:
        for key in keys:
            path = self.path(key)
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot delete {key}: {exc.strerror}") from exc
            self._prune(path.parent)

    def _prune(self, directory: Path) -> None:
        """Remove directories left empty, up to (not including) the root."""
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return  # not empty (or already gone): stop
            directory = directory.parent

    def download_url(self, key: str, **_: Any) -> None:
        return None  # served by the hub itself

    def upload_form(self, key: str, **_: Any) -> None:
        return None  # the hub receives direct uploads itself


class _LocalWriter(_WriterBase):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh: BinaryIO | None = open(self.tmp, "wb")  # noqa: SIM115
        except OSError as exc:
            raise StorageError(f"cannot write {path.name}: {exc.strerror}") from exc
        self.written = 0

    def write(self, data: bytes) -> None:
        try:
            self._fh.write(data)  # type: ignore[union-attr]
        except OSError as exc:
            raise StorageError(f"cannot write: {exc.strerror}") from exc
        self.written += len(data)

    def commit(self) -> int:
        try:
            self._fh.flush()  # type: ignore[union-attr]
            os.fsync(self._fh.fileno())  # type: ignore[union-attr]
            self._fh.close()  # type: ignore[union-attr]
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise StorageError(f"cannot write: {exc.strerror}") from exc
        self._done = True
        return self.written

    def abort(self) -> None:
        self._done = True
        if self._fh is not None and not self._fh.closed:
            self._fh.close()
        self.tmp.unlink(missing_ok=True)


# --- S3 -------------------------------------------------------------------------

class S3Storage:
    """Objects in one bucket of any S3-compatible endpoint (boto3)."""

    backend = "s3"

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, region: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 addressing_style: str = "auto", part_size: int = 8 * 1024 * 1024) -> None:
        self.bucket = bucket
        self.part_size = part_size
        self._client_args = dict(endpoint_url=endpoint_url or None, region_name=region or None,
                                 aws_access_key_id=access_key_id or None,
                                 aws_secret_access_key=secret_access_key or None)
        self._addressing_style = addressing_style
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (boto3 clients are thread-safe)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    config = Config(signature_version="s3v4", connect_timeout=5, read_timeout=60,
                                    retries={"max_attempts": 3, "mode": "standard"},
                                    s3={"addressing_style": self._addressing_style})
                    self._client = boto3.session.Session().client("s3", config=config,
                                                                  **self._client_args)
        return self._client

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            # HEAD answers a bare 404 (no body), so a missing bucket looks the same
            # there; get/delete name it (NoSuchBucket) and land below.
            if "Key" in kwargs and error.get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise ObjectNotFound(kwargs["Key"]) from None
            raise StorageError(f"S3 {what} failed: {error.get('Code', status)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 {what} failed: {exc}") from exc

    def writer(self, key: str, content_type: str | None = None) -> _S3Writer:
        return _S3Writer(self, check_key(key), content_type or "application/octet-stream")

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._call("put", self.client.put_object, Key=check_key(key), Body=data,
                   ContentType=content_type or "application/octet-stream")

    def open(self, key: str) -> BinaryIO:
        return _S3Body(self._call("get", self.client.get_object, Key=check_key(key))["Body"])

    def head(self, key: str) -> ObjectInfo | None:
        try:
            meta = self._call("head", self.client.head_object, Key=check_key(key))
        except ObjectNotFound:
            return None
        return ObjectInfo(key=key, size=int(meta["ContentLength"]), content_type=meta.get("ContentType"))

    def delete(self, *keys: str) -> None:
        for key in keys:
            self._call("delete", self.client.delete_object, Key=check_key(key))

    def download_url(self, key: str, *, filename: str, content_type: str, expires: int) -> str:
        # Signing is local (no request), so it cannot fail for network reasons.
        return self.client.generate_presigned_url("get_object", ExpiresIn=expires, Params={
            "Bucket": self.bucket, "Key": check_key(key), "ResponseContentType": content_type,
            "ResponseContentDisposition": content_disposition(filename)})

    def upload_form(self, key: str, *, content_type: str, size: int, expires: int) -> dict[str, Any]:
        """A presigned POST (browser form upload) bound to this key, type and exact size."""
        post = self.client.generate_presigned_post(
            self.bucket, check_key(key), Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
            ExpiresIn=expires)
        return {"url": post["url"], "method": "POST", "fields": post["fields"],
                "file_field": "file"}


class _S3Body:
    """A GET's body whose read errors (reset, timeout) are StorageError like the rest."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int = -1) -> bytes:
        from botocore.exceptions import BotoCoreError
        from urllib3.exceptions import HTTPError

        try:
            return self._body.read(None if size is None or size < 0 else size)
        except (BotoCoreError, HTTPError, OSError) as exc:
            raise StorageError(f"S3 read failed: {exc}") from exc

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> _S3Body:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _S3Writer(_WriterBase):
    """Buffers one part at a time; small objects are a single PUT."""

    def __init__(self, storage: S3Storage, key: str, content_type: str) -> None:
        self.storage, self.key, self.content_type = storage, key, content_type
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.written = 0

    def write(self, data: bytes) -> None:
        self.buffer += data
        self.written += len(data)
        if len(self.buffer) >= self.storage.part_size:
            self._upload_part()

    def _upload_part(self) -> None:
        # The whole buffer is the part (parts need not be equal, only >= 5 MiB
        # but the last): handing it over as is copies nothing.
        s3 = self.storage
        if self.upload_id is None:
            self.upload_id = s3._call("start multipart upload", s3.client.create_multipart_upload,
                                      Key=self.key, ContentType=self.content_type)["UploadId"]
        body, self.buffer = self.buffer, bytearray()
        number = len(self.parts) + 1
        reply = s3._call("upload part", s3.client.upload_part, Key=self.key, UploadId=self.upload_id,
                         PartNumber=number, Body=body)
        self.parts.append({"PartNumber": number, "ETag": reply["ETag"]})

    def commit(self) -> int:
        s3 = self.storage
        try:
            if self.upload_id is None:
                s3._call("put", s3.client.put_object, Key=self.key, Body=bytes(self.buffer),
                         ContentType=self.content_type)
            else:
                if self.buffer:
                    self._upload_part()
                s3._call("complete multipart upload", s3.client.complete_multipart_upload,
                         Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts})
        except BaseException:
            self.abort()
            raise
        self._done = True
        self.buffer = bytearray()
        return self.written

    def abort(self) -> None:
        self._done = True
        self.buffer = bytearray()
        if self.upload_id is not None:
            upload_id, self.upload_id = self.upload_id, None
            try:
                self.storage._call("abort multipart upload", self.storage.client.abort_multipart_upload,
                                   Key=self.key, UploadId=upload_id)
            except StorageError as exc:
                # The bucket's lifecycle rule for incomplete uploads is the backstop.
                log.warning("could not abort multipart upload of %s: %s", self.key, exc)


def make_storage(settings: dict[str, Any], project_root: str | os.PathLike[str]) -> Storage:
    """The backend the settings name (STORAGE_BACKEND, STORAGE_LOCAL_ROOT, S3_*)."""
    if settings["STORAGE_BACKEND"] == "s3":
        return S3Storage(settings["S3_BUCKET"], endpoint_url=settings.get("S3_ENDPOINT_URL"),
                         region=settings.get("S3_REGION"),
                         access_key_id=settings.get("S3_ACCESS_KEY_ID"),
                         secret_access_key=settings.get("S3_SECRET_ACCESS_KEY"),
                         addressing_style=settings.get("S3_ADDRESSING_STYLE") or "auto",
                         part_size=settings["S3_PART_SIZE"])
    return LocalStorage(Path(project_root) / settings["STORAGE_LOCAL_ROOT"])
