"""The audit trail. Rows are added to the caller's transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import has_request_context, request
from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditEvent
from hub.models.base import paginate
from hub.web.context import current_request_id


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, an API key, or the system (both None)."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None


def record(actor: Actor, action: str, object_type: str, object_id: Any = None,
           details: dict[str, Any] | None = None, tenant_id: uuid.UUID | None = None) -> AuditEvent:
    """Add an audit event to the current session; the caller commits."""
    # Rows the event refers to go first: audit events have no ORM relationships
    # that would order the inserts for us.
    db.session.flush()
    event = AuditEvent(
        tenant_id=tenant_id or actor.tenant_id,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        request_id=current_request_id(),
        ip=request_ip(),
        details=details or {},
    )
    db.session.add(event)
    return event


def request_ip() -> str | None:
    """The address the current request came from (None outside a request)."""
    return request.remote_addr if has_request_context() else None


def list_events(tenant_id: uuid.UUID, page: int, per_page: int,
                **filters: str) -> tuple[list[AuditEvent], int]:
    """The tenant's events, newest first, filtered by exact column values."""
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    for column in ("action", "object_type", "object_id"):
        if filters.get(column):
            query = query.where(getattr(AuditEvent, column) == filters[column])
    return paginate(query, page, per_page, AuditEvent.created_at.desc(), AuditEvent.id)
