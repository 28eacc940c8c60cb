"""The operator's view of the ledger (hub staff only): search, failures, stuck jobs, bulk actions."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask.views import MethodView

from hub.api.access import auth_required, current_principal
from hub.api.operations.schemas import (
    BulkActionSchema,
    BulkResultSchema,
    FailedGroupSchema,
    FailedQuerySchema,
    OpsJobQuerySchema,
    OpsJobSchema,
    StuckJobSchema,
    StuckQuerySchema,
)
from hub.extensions import limiter
from hub.services import operations
from hub.web.envelope import HubBlueprint, set_message, set_pagination
from hub.web.errors import Forbidden

blp = HubBlueprint("operations", __name__, url_prefix="/operations",
                   description="Hub staff: every tenant's jobs, failures by cause, stuck jobs, "
                               "and retry or cancel by filter.")


def _staff() -> None:
    if not current_principal().is_staff:
        raise Forbidden("Only hub staff can use the operations endpoints.")


def _filter(args: dict[str, Any]) -> operations.JobFilter:
    status = args.get("status")
    statuses = tuple(status) if isinstance(status, list) else ((status,) if status else ())
    key, has_value, value = (args.get("payload") or "").partition("=")
    return operations.JobFilter(
        tenant_id=args.get("tenant_id"), type=args.get("type"), statuses=statuses,
        error_code=args.get("error_code"), created_after=args.get("created_after"),
        created_before=args.get("created_before"), payload_key=key or None,
        payload_value=value if has_value else None)


def _bulk_limit() -> str:
    return current_app.config["OPS_BULK_RATE_LIMIT"]


@blp.route("/jobs")
class OpsJobs(MethodView):
    @auth_required(allow_api_key=False)
    @blp.arguments(OpsJobQuerySchema, location="query")
    @blp.response(200, OpsJobSchema(many=True))
    @blp.alt_response(403, response="FORBIDDEN", description="Not hub staff.")
    def get(self, args):
        """Every tenant's jobs, newest first: by tenant, type, status, error code, creation
        time and payload key (and value)."""
        _staff()
        items, total = operations.search(_filter(args), args["page"], args["per_page"])
        set_pagination(args["page"], args["per_page"], total)
        return items


@blp.route("/failed-jobs")
class FailedJobs(MethodView):
    @auth_required(allow_api_key=False)
    @blp.arguments(FailedQuerySchema, location="query")
    @blp.response(200, FailedGroupSchema(many=True))
    @blp.alt_response(403, response="FORBIDDEN", description="Not hub staff.")
    def get(self, args):
        """Failed jobs grouped by type and error code, the biggest group first (paged by
        group); the same filters as the search narrow them."""
        _staff()
        groups, total = operations.failed_groups(_filter(args), args["page"], args["per_page"])
        set_pagination(args["page"], args["per_page"], total)
        return groups


@blp.route("/stuck-jobs")
class StuckJobs(MethodView):
    @auth_required(allow_api_key=False)
    @blp.arguments(StuckQuerySchema, location="query")
    @blp.response(200, StuckJobSchema(many=True))
    @blp.alt_response(403, response="FORBIDDEN", description="Not hub staff.")
    def get(self, args):
        """Jobs sent to a worker that never started (`not_started`), and running jobs whose
        lease ran out (`lease_expired`: the worker died or hangs), oldest first."""
        _staff()
        seconds = args.get("not_started_seconds") or current_app.config["OPS_STUCK_SECONDS"]
        items, total = operations.stuck(timedelta(seconds=seconds), args["page"], args["per_page"])
        set_pagination(args["page"], args["per_page"], total)
        return items


def _bulk(action: str, data: dict[str, Any]) -> dict[str, Any]:
    _staff()
    result = operations.bulk(action, current_principal().actor, _filter(data["filter"]),
                             dry_run=data["dry_run"], expected=data.get("expected"))
    verb = "retried" if action == "retry" else "cancelled"
    set_message(f"{result['selected']} jobs would be {verb}." if result["dry_run"]
                else f"{result['done']} jobs {verb}, {result['skipped']} skipped.")
    return result


@blp.route("/jobs/retry")
class BulkRetry(MethodView):
    decorators = [limiter.limit(_bulk_limit)]

    @auth_required(allow_api_key=False)
    @blp.arguments(BulkActionSchema)
    @blp.response(200, BulkResultSchema)
    @blp.alt_response(403, response="FORBIDDEN", description="Not hub staff.")
    @blp.alt_response(409, response="CONFLICT", description="`expected` is not what the filter "
                                                            "selects now: dry run again.")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS", description="Over OPS_BULK_RATE_LIMIT.")
    def post(self, data):
        """Retry the failed or cancelled jobs a filter selects: a dry run counts them (the
        default), then `dry_run: false` with `expected` set to that count retries them,
        oldest first, at most OPS_BULK_MAX per call. Each retry is audited in its tenant."""
        return _bulk("retry", data)


@blp.route("/jobs/cancel")
class BulkCancel(MethodView):
    decorators = [limiter.limit(_bulk_limit)]

    @auth_required(allow_api_key=False)
    @blp.arguments(BulkActionSchema)
    @blp.response(200, BulkResultSchema)
    @blp.alt_response(403, response="FORBIDDEN", description="Not hub staff.")
    @blp.alt_response(409, response="CONFLICT", description="`expected` is not what the filter "
                                                            "selects now: dry run again.")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS", description="Over OPS_BULK_RATE_LIMIT.")
    def post(self, data):
        """Cancel the queued, retrying or running jobs a filter selects, like the bulk retry:
        dry run first, then `dry_run: false` with `expected`."""
        return _bulk("cancel", data)
