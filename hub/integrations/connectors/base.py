"""What a connector is, and the errors it raises.

The sync engine builds a connector per run with the connection's `config`, its
decrypted `credentials` and an `HttpClient`, then calls `fetch(cursor)` until a
page says it is the last one. Records are plain dicts with a stable external id;
the engine stores them, counts what changed and keeps the cursor.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hub.integrations.connectors.http import AuthFailed, ConnectorError, HttpClient, TemporaryFailure

__all__ = ["AuthFailed", "Connector", "ConnectorError", "HttpClient", "Page", "Record",
           "TemporaryFailure"]

JSON = Any


@dataclass(frozen=True)
class Record:
    """One item of the source: its id there, and its content (JSON-serialisable)."""

    external_id: str
    data: Mapping[str, JSON]


@dataclass(frozen=True)
class Page:
    """What one `fetch` returns.

    `next_cursor` is where the next `fetch` starts. When `done` is true this was
    the last page of the run, and `next_cursor` is where the *next sync* starts:
    None for a full pass again (the default), or a watermark of the connector's
    own (e.g. `{"updated_since": ...}`) for an incremental one. `deleted` lists
    external ids the source says are gone. `progress` (0-1), when the source
    knows its size, makes the job's progress bar honest.
    """

    records: Sequence[Record]
    next_cursor: JSON = None
    done: bool = False
    deleted: Sequence[str] = field(default_factory=tuple)
    progress: float | None = None


class Connector:
    """Base class of connector plugins. Subclass it, set the class attributes, implement fetch.

    `config_schema` and `credentials_schema` are JSON schemas (draft 2020-12);
    the hub validates a connection's config and credentials against them before
    storing, and serves them at `GET /api/v1/connectors`. Top-level config
    properties with `"format": "uri"` are checked by the SSRF guard when saved.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    config_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    credentials_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False}

    def __init__(self, config: Mapping[str, Any], credentials: Mapping[str, Any],
                 http: HttpClient) -> None:
        self.config = config
        self.credentials = credentials
        self.http = http

    def fetch(self, cursor: JSON) -> Page:
        """Read one page starting at `cursor` (None: the beginning)."""
        raise NotImplementedError

    def push(self, records: Sequence[Record]) -> None:
        """Write records to the source (optional; connectors that only read leave it)."""
        raise NotImplementedError(f"connector {self.name!r} cannot push")

    @classmethod
    def can_push(cls) -> bool:
        return cls.push is not Connector.push

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """What `GET /api/v1/connectors` shows."""
        return {"name": cls.name, "title": cls.title or cls.name,
                "description": cls.description or (cls.__doc__ or "").strip().split("\n")[0],
                "config_schema": cls.config_schema, "credentials_schema": cls.credentials_schema,
                "can_push": cls.can_push()}
