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

The backends live beside this module (`local.py`, `s3.py`); `make_storage`
picks one from the settings.
"""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote

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

    def purge_incomplete(self, prefix: str, older_than: float) -> int: ...


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


class WriterBase:
    """Aborts on leaving the `with` block without a commit."""

    written = 0
    _done = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._done:
            self.abort()


def make_storage(settings: dict[str, Any], project_root: str | os.PathLike[str]) -> Storage:
    """The backend the settings name (STORAGE_BACKEND, STORAGE_LOCAL_ROOT, S3_*)."""
    if settings["STORAGE_BACKEND"] == "s3":
        return S3Storage(settings["S3_BUCKET"], endpoint_url=settings.get("S3_ENDPOINT_URL"),
                         region=settings.get("S3_REGION"),
                         access_key_id=settings.get("S3_ACCESS_KEY_ID"),
                         secret_access_key=settings.get("S3_SECRET_ACCESS_KEY"),
                         addressing_style=settings.get("S3_ADDRESSING_STYLE") or "auto",
                         part_size=settings["S3_PART_SIZE"],
                         public_endpoint_url=settings.get("S3_PUBLIC_ENDPOINT_URL"))
    return LocalStorage(Path(project_root) / settings["STORAGE_LOCAL_ROOT"])


# The backends use the names above; boto3 itself is imported on first use.
from hub.integrations.storage.local import LocalStorage  # noqa: E402
from hub.integrations.storage.s3 import S3Storage  # noqa: E402

__all__ = ["LocalStorage", "ObjectInfo", "ObjectNotFound", "ObjectWriter", "S3Storage", "Storage",
           "StorageError", "check_key", "content_disposition", "make_storage"]
