"""What every storage backend shares: the interface, its errors, key checks.

`hub.integrations.storage` (the package) is the public face: it picks a
backend (`make_storage`) and re-exports these names.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
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
