"""Connections: a tenant's configured sources, their encrypted credentials, schedules and records.

Config is validated against the connector's JSON schema; credentials against
its credentials schema, with messages that never quote the value. Credentials
are stored as one Fernet token (`hub.services.encryption`) and leave this module
only decrypted for the sync engine, never in a response or a log line.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import jsonschema
from croniter import croniter
from flask import current_app
from sqlalchemy import func, select

from hub import audit, jobs
from hub.extensions import db
from hub.integrations import http as outbound
from hub.integrations.connectors.base import Connector
from hub.integrations.connectors.registry import get_connector
from hub.models import ACTIVE_STATUSES, Connection, Job, SyncRecord, utcnow
from hub.services import encryption, paginate
from hub.services.webhooks import allow_private
from hub.web.errors import Conflict, NotFound, ValidationFailed

SYNC_JOB = "sync.run"
MAX_CONNECTIONS_PER_TENANT = 100

encryption.register_encrypted(Connection.credentials_encrypted)


# --- validation ------------------------------------------------------------------

def _schema_errors(schema: dict[str, Any], value: Any, *, secret: bool) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    validator = jsonschema.Draft202012Validator(schema, format_checker=None)
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path) or "_schema"
        # jsonschema quotes the offending value; for credentials that would echo a secret.
        message = (f"does not satisfy '{error.validator}'" if secret and error.validator != "required"
                   else error.message)
        errors.setdefault(where, []).append(message)
    return errors


def _check_urls(cls: type[Connector], config: dict[str, Any]) -> dict[str, list[str]]:
    """Config URLs go through the SSRF guard when saved (and again on every request)."""
    errors: dict[str, list[str]] = {}
    for key, prop in (cls.config_schema.get("properties") or {}).items():
        if isinstance(prop, dict) and prop.get("format") == "uri" and isinstance(config.get(key), str):
            try:
                outbound.check_url(config[key], allow_private=allow_private(current_app.config))
            except outbound.OutboundRefused as exc:
                errors[key] = [str(exc)]
            except outbound.OutboundError:
                # Not resolvable now is no risk; each request is checked again when it is sent.
                pass
    return errors


def _connector(name: str) -> type[Connector]:
    cls = get_connector(name)
    if cls is None:
        problem = [f"no connector {name!r} is installed"]
        raise ValidationFailed("Unknown connector.", details={"fields": {"json": {"connector": problem}}})
    return cls


def validate(cls: type[Connector], config: dict[str, Any] | None,
             credentials: dict[str, Any] | None) -> None:
    """422 with details per field when config or credentials do not fit the connector."""
    fields: dict[str, Any] = {}
    if config is not None:
        errors = _schema_errors(cls.config_schema, config, secret=False) or _check_urls(cls, config)
        if errors:
            fields["config"] = errors
    if credentials is not None:
        errors = _schema_errors(cls.credentials_schema, credentials, secret=True)
        if errors:
            fields["credentials"] = errors
    if fields:
        raise ValidationFailed("The connection does not fit the connector's schema.",
                               details={"fields": {"json": fields}})


def _apply_schedule(connection: Connection, schedule: dict[str, Any] | None) -> None:
    connection.schedule_interval = (schedule or {}).get("interval_seconds")
    connection.schedule_cron = (schedule or {}).get("cron")
    connection.next_sync_at = next_due(connection, utcnow(), first=True)


def next_due(connection: Connection, now: datetime, first: bool = False) -> datetime | None:
    """When the schedule next wants a sync (a new interval schedule: now)."""
    if connection.schedule_interval:
        return now if first else now + timedelta(seconds=connection.schedule_interval)
    if connection.schedule_cron:
        return croniter(connection.schedule_cron, now).get_next(datetime)
    return None


def credentials_of(connection: Connection) -> dict[str, Any]:
    """The decrypted credentials (for the sync engine only)."""
    if not connection.credentials_encrypted:
        return {}
    return json.loads(encryption.decrypt(connection.credentials_encrypted))


# --- CRUD ----------------------------------------------------------------------

def list_connections(tenant_id: uuid.UUID, page: int, per_page: int) -> tuple[list[Connection], int]:
    query = select(Connection).where(Connection.tenant_id == tenant_id)
    return paginate(query, page, per_page, Connection.created_at.desc(), Connection.id)


def get_connection(tenant_id: uuid.UUID, connection_id: uuid.UUID) -> Connection:
    connection = db.session.get(Connection, connection_id)
    if connection is None or connection.tenant_id != tenant_id:
        raise NotFound("Connection not found.")
    return connection


def create_connection(actor: audit.Actor, data: dict[str, Any]) -> Connection:
    """Validate and store a connection; credentials encrypted. Commits."""
    count = db.session.scalar(select(func.count()).select_from(Connection)
                              .where(Connection.tenant_id == actor.tenant_id)) or 0
    if count >= MAX_CONNECTIONS_PER_TENANT:
        raise Conflict(f"A tenant can have at most {MAX_CONNECTIONS_PER_TENANT} connections.")
    cls = _connector(data["connector"])
    credentials = data.get("credentials") or {}
    validate(cls, data.get("config") or {}, credentials)
    connection = Connection(id=uuid.uuid4(), tenant_id=actor.tenant_id, connector=cls.name,
                            name=data["name"], config=data.get("config") or {}, status="ok",
                            credentials_encrypted=encryption.encrypt(json.dumps(credentials)),
                            created_by=actor.user_id, run_number=0, run_active=False)
    _apply_schedule(connection, data.get("schedule"))
    db.session.add(connection)
    audit.record(actor, "connection.created", "connection", connection.id,
                 {"connector": cls.name, "name": connection.name, "schedule": connection.schedule})
    db.session.commit()
    return connection


def update_connection(actor: audit.Actor, connection: Connection, changes: dict[str, Any]) -> Connection:
    """Change name, config, credentials or schedule. New credentials clear `needs_attention`. Commits."""
    cls = _connector(connection.connector)
    validate(cls, changes.get("config"), changes.get("credentials"))
    changed: list[str] = []
    if "name" in changes and changes["name"] != connection.name:
        connection.name = changes["name"]
        changed.append("name")
    if "config" in changes and changes["config"] != connection.config:
        connection.config = changes["config"]
        changed.append("config")
    if "credentials" in changes:
        connection.credentials_encrypted = encryption.encrypt(json.dumps(changes["credentials"]))
        changed.append("credentials")
    if "schedule" in changes and changes["schedule"] != connection.schedule:
        _apply_schedule(connection, changes["schedule"])
        changed.append("schedule")
    if {"config", "credentials"} & set(changed) and connection.status == "needs_attention":
        # Someone fixed what the source complained about: let the schedule try again.
        connection.status, connection.status_reason = "ok", None
        changed.append("status")
    if changed:
        audit.record(actor, "connection.updated", "connection", connection.id,
                     {"changed": changed, "schedule": connection.schedule})
    db.session.commit()
    return connection


def delete_connection(actor: audit.Actor, connection: Connection) -> None:
    """Delete a connection and its records; a running sync stops at its next page. Commits."""
    audit.record(actor, "connection.deleted", "connection", connection.id,
                 {"connector": connection.connector, "name": connection.name})
    db.session.delete(connection)
    db.session.commit()


def list_records(connection: Connection, page: int, per_page: int,
                 include_deleted: bool = False) -> tuple[list[SyncRecord], int]:
    query = select(SyncRecord).where(SyncRecord.connection_id == connection.id)
    if not include_deleted:
        query = query.where(SyncRecord.deleted_at.is_(None))
    return paginate(query, page, per_page, SyncRecord.id)


# --- starting syncs ----------------------------------------------------------------

def active_sync_job(connection: Connection) -> Job | None:
    """The sync job holding the connection, if it is still queued, running or retrying."""
    if connection.sync_job_id is None:
        return None
    job = db.session.get(Job, connection.sync_job_id)
    return job if job is not None and job.status in ACTIVE_STATUSES else None


def lock(connection_id: uuid.UUID) -> Connection | None:
    """The connection row, locked for this transaction."""
    return db.session.scalars(select(Connection).where(Connection.id == connection_id)
                              .with_for_update().execution_options(populate_existing=True)).first()


def start_sync(connection: Connection, actor: audit.Actor | None = None, *,
               created_by: uuid.UUID | None = None, api_key_id: uuid.UUID | None = None,
               trigger: str = "manual") -> Job:
    """Queue a sync.run job for the connection; 409 if one is active or syncs are paused.

    The row lock makes "is one active? then take it" atomic, so two requests (or
    a request and beat) cannot both queue one. Commits and dispatches.
    """
    if current_app.config["SYNC_PAUSED"]:
        raise Conflict("Syncs are paused by the hub's operators (SYNC_PAUSED); try again later.")
    locked = lock(connection.id)
    if locked is None:
        raise NotFound("Connection not found.")
    running = active_sync_job(locked)
    if running is not None:
        db.session.rollback()
        raise Conflict("A sync of this connection is already queued or running.",
                       details={"job_id": str(running.id)})
    job = jobs.create_job(locked.tenant_id, SYNC_JOB, {"connection_id": str(locked.id),
                                                       "trigger": trigger},
                          created_by=created_by, api_key_id=api_key_id, internal=True)
    locked.sync_job_id = job.id
    if actor is not None:
        audit.record(actor, "connection.sync_requested", "connection", locked.id, {"job_id": str(job.id)})
    jobs.commit_and_dispatch()
    return job


def enqueue_due(now: datetime | None = None, limit: int = 500) -> int:
    """Beat: queue a sync for each connection whose schedule is due; returns how many.

    Connections needing attention wait for a person; a connection still syncing
    is skipped this round and tried at its next due time.
    """
    if current_app.config["SYNC_PAUSED"]:
        return 0
    now = now or utcnow()
    due = db.session.scalars(select(Connection).where(
        Connection.next_sync_at.is_not(None), Connection.next_sync_at <= now,
        Connection.status == "ok").order_by(Connection.next_sync_at).limit(limit)).all()
    queued = 0
    for connection in due:
        connection.next_sync_at = next_due(connection, now)
        db.session.commit()
        try:
            start_sync(connection, trigger="schedule")
            queued += 1
        except (Conflict, NotFound):
            db.session.rollback()
    return queued


DEMO_CONNECTION_NAME = "Demo products (sample source)"


def ensure_demo_connection(tenant_id: uuid.UUID, base_url: str) -> Connection | None:
    """The demo tenant's connection to the hub's own sample source, created once (`seed-demo`).

    Scheduled every 5 minutes and due at once, so the first beat after start syncs it.
    """
    found = db.session.scalar(select(Connection).where(Connection.tenant_id == tenant_id,
                                                       Connection.name == DEMO_CONNECTION_NAME))
    if found is not None:
        return None
    config = {"url": base_url.rstrip("/") + "/demo-source/items", "per_page": 10,
              "field_mapping": {"sku": "sku", "name": "name", "price_cents": "price_cents",
                                "stock": "stock"}}
    return create_connection(audit.Actor(tenant_id), {
        "connector": "rest", "name": DEMO_CONNECTION_NAME, "config": config, "credentials": {},
        "schedule": {"interval_seconds": 300}})
