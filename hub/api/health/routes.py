"""Liveness and readiness probes (outside /api/v1, no auth)."""
from __future__ import annotations

import marshmallow as ma

from hub.extensions import limiter
from hub.services import health
from hub.web.envelope import HubBlueprint, NoArgsSchema, set_message
from hub.web.errors import ServiceUnavailable

blp = HubBlueprint("health", __name__, url_prefix="/health", versioned=False,
                   description="Probes for load balancers and orchestrators.")
limiter.exempt(blp)


class LiveSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "live"})


class ReadySchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ready"})
    checks = ma.fields.Dict(metadata={"description": "database, redis and workers: "
                                                     "{ok, error?, workers?} each."})


@blp.route("/live", methods=["GET"])
@blp.arguments(NoArgsSchema, location="query")
@blp.response(200, LiveSchema)
def live(_args):
    """The process is up. Touches nothing else."""
    return {"status": "live"}


@blp.route("/ready", methods=["GET"])
@blp.arguments(NoArgsSchema, location="query")
@blp.response(200, ReadySchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE",
                  description="A dependency failed; `details.checks` says which.")
def ready(_args):
    """Database, Redis and at least one Celery worker are reachable."""
    ok, checks = health.readiness()
    if not ok:
        failed = ", ".join(name for name, r in checks.items() if not r["ok"])
        raise ServiceUnavailable(f"Not ready: {failed}.", details={"checks": checks})
    set_message("Ready.")
    return {"status": "ready", "checks": checks}
