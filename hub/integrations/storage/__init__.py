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
from pathlib import Path
from typing import Any

from hub.integrations.storage.base import (
    ObjectInfo,
    ObjectNotFound,
    ObjectWriter,
    Storage,
    StorageError,
    check_key,
    content_disposition,
)
from hub.integrations.storage.local import LocalStorage
from hub.integrations.storage.s3 import S3Storage


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


__all__ = ["LocalStorage", "ObjectInfo", "ObjectNotFound", "ObjectWriter", "S3Storage", "Storage",
           "StorageError", "check_key", "content_disposition", "make_storage"]
