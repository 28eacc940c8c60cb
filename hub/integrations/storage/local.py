"""The local-directory backend: objects are files under a root directory."""
from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from hub.integrations.storage.base import ObjectInfo, ObjectNotFound, StorageError, WriterBase, check_key


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

    def purge_incomplete(self, prefix: str, older_than: float) -> int:
        """Remove temp files of writes that never finished (a process killed mid-upload)."""
        base = self.root / check_key(prefix.rstrip("/"))
        cutoff = time.time() - older_than
        removed = 0
        for path in base.rglob(".*.part") if base.is_dir() else ():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageError(f"cannot remove {path.name}: {exc.strerror}") from exc
        return removed

    def download_url(self, key: str, **_: Any) -> None:
        return None  # served by the hub itself

    def upload_form(self, key: str, **_: Any) -> None:
        return None  # the hub receives direct uploads itself


class _LocalWriter(WriterBase):
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
