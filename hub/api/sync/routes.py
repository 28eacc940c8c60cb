"""Third-party sync: installed connectors, a tenant's connections, their syncs and records.

Reading (connectors, connections, records) is open to every member of the
tenant: credentials are never in a response. Creating, changing, deleting and
syncing a connection needs the admin or owner role, because a connection
decides what outside system the hub calls with the tenant's secrets.
"""
from __future__ import annotations

import uuid

from flask.views import MethodView

from hub.api.access import auth_required, current_principal
from hub.api.idempotency import idempotent
from hub.api.jobs.schemas import JobSchema
from hub.api.sync.schemas import (
    ConnectionCreateSchema,
    ConnectionSchema,
    ConnectionUpdateSchema,
    ConnectorSchema,
    RecordQuerySchema,
    RecordSchema,
)
from hub.integrations.connectors.registry import connectors
from hub.services.sync import connections as service
from hub.web.envelope import HubBlueprint, PaginationArgsSchema, set_message, set_pagination

connectors_blp = HubBlueprint("connectors", __name__, url_prefix="/connectors",
                              description="Connector types installed on this hub (plugins).")
connections_blp = HubBlueprint(
    "connections", __name__, url_prefix="/connections",
    description="Connections to third-party systems and their syncs. Members read; admins and "
                "owners manage and sync.")

_member = auth_required()
_admin = auth_required(admin=True)


def _connection(connection_id: uuid.UUID):
    return service.get_connection(current_principal().tenant_id, connection_id)


@connectors_blp.route("")
class Connectors(MethodView):
    @_member
    @connectors_blp.response(200, ConnectorSchema(many=True))
    def get(self):
        """Installed connectors with the JSON schemas of their config and credentials."""
        return [cls.describe() for _, cls in sorted(connectors().items())]


@connections_blp.route("")
class Connections(MethodView):
    @_member
    @connections_blp.arguments(PaginationArgsSchema, location="query")
    @connections_blp.response(200, ConnectionSchema(many=True))
    def get(self, args):
        """The tenant's connections, newest first."""
        items, total = service.list_connections(current_principal().tenant_id, **args)
        set_pagination(args["page"], args["per_page"], total)
        return items

    @_admin
    @connections_blp.arguments(ConnectionCreateSchema)
    @connections_blp.response(201, ConnectionSchema)
    @connections_blp.alt_response(409, response="CONFLICT", description="Too many connections.")
    def post(self, data):
        """Create a connection. `config` and `credentials` are checked against the connector's
        schemas (422 with the failing fields); credentials are encrypted and never shown again."""
        set_message("Connection created.")
        return service.create_connection(current_principal().actor, data)


@connections_blp.route("/<uuid:connection_id>")
class ConnectionById(MethodView):
    @_member
    @connections_blp.response(200, ConnectionSchema)
    @connections_blp.alt_response(404, response="NOT_FOUND")
    def get(self, connection_id: uuid.UUID):
        """One connection with its sync state."""
        return _connection(connection_id)

    @_admin
    @connections_blp.arguments(ConnectionUpdateSchema)
    @connections_blp.response(200, ConnectionSchema)
    @connections_blp.alt_response(404, response="NOT_FOUND")
    def patch(self, data, connection_id: uuid.UUID):
        """Change name, config, credentials or schedule (new config or credentials clear
        `needs_attention`)."""
        set_message("Connection updated.")
        return service.update_connection(current_principal().actor, _connection(connection_id), data)

    @_admin
    @connections_blp.response(200)
    @connections_blp.alt_response(404, response="NOT_FOUND")
    def delete(self, connection_id: uuid.UUID):
        """Delete a connection and its records."""
        service.delete_connection(current_principal().actor, _connection(connection_id))
        set_message("Connection deleted.")
        return None


@connections_blp.route("/<uuid:connection_id>/sync")
class ConnectionSync(MethodView):
    @_admin
    @idempotent
    @connections_blp.response(202, JobSchema)
    @connections_blp.alt_response(404, response="NOT_FOUND")
    @connections_blp.alt_response(409, response="CONFLICT",
                                  description="A sync is already queued or running, or syncs are paused.")
    def post(self, connection_id: uuid.UUID):
        """Sync now: a `sync.run` job. It resumes an unfinished run where it stopped."""
        p = current_principal()
        job = service.start_sync(_connection(connection_id), p.actor,
                                 created_by=p.user.id if p.user else None,
                                 api_key_id=p.api_key.id if p.api_key else None)
        set_message("Sync queued.")
        return job


@connections_blp.route("/<uuid:connection_id>/records")
class ConnectionRecords(MethodView):
    @_member
    @connections_blp.arguments(RecordQuerySchema, location="query")
    @connections_blp.response(200, RecordSchema(many=True))
    @connections_blp.alt_response(404, response="NOT_FOUND")
    def get(self, args, connection_id: uuid.UUID):
        """Records the syncs brought in, oldest first (deleted ones with include_deleted)."""
        items, total = service.list_records(_connection(connection_id), args["page"], args["per_page"],
                                            args["include_deleted"])
        set_pagination(args["page"], args["per_page"], total)
        return items


def document_connectors(spec) -> None:
    """Spell out in the OpenAPI document which config and credentials each connector takes.

    Like `document_job_types`: each installed connector's schemas become one
    branch of a `oneOf` on the create body, so clients and generated tests see
    the real contract. A PATCH changes at least one field.
    """
    create = spec.components.schemas.get("ConnectionCreate")
    if create is not None:
        create["oneOf"] = [
            {"properties": {"connector": {"const": name}, "config": cls.config_schema,
                            "credentials": cls.credentials_schema},
             "required": ["connector", "name"]
             + (["config"] if cls.config_schema.get("required") else [])
             + (["credentials"] if cls.credentials_schema.get("required") else [])}
            for name, cls in sorted(connectors().items())]
    update = spec.components.schemas.get("ConnectionUpdate")
    if update is not None:
        update["minProperties"] = 1
    schedule = spec.components.schemas.get("Schedule")
    if schedule is not None:
        schedule["oneOf"] = [{"required": ["interval_seconds"], "not": {"required": ["cron"]}},
                             {"required": ["cron"], "not": {"required": ["interval_seconds"]}}]
