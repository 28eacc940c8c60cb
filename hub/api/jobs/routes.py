"""Jobs: create, list, inspect, cancel, retry, and the types the hub runs."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from sqlalchemy import select

from hub import jobs
from hub.api.access import auth_required, current_principal
from hub.api.idempotency import idempotent
from hub.api.jobs.schemas import (
    JobBatchSchema,
    JobCreateSchema,
    JobEventSchema,
    JobQuerySchema,
    JobSchema,
    JobTypeSchema,
)
from hub.jobs import actions as job_actions
from hub.jobs import intake
from hub.jobs.types import all_job_types
from hub.models import Job
from hub.models.base import paginate
from hub.services import quotas
from hub.web.envelope import HubBlueprint, PaginationArgsSchema, set_message, set_pagination
from hub.web.errors import Forbidden

blp = HubBlueprint("jobs", __name__, url_prefix="/jobs",
                   description="The job ledger: every integration and heavy task is a job.")


def _visible_job(job_id: uuid.UUID) -> Job:
    p = current_principal()
    return jobs.get_job(job_id, None if p.is_staff else p.tenant_id)


@blp.route("/types")
class JobTypes(MethodView):
    @auth_required()
    @blp.response(200, JobTypeSchema(many=True))
    def get(self):
        """The job types this hub runs, with the JSON schema of each payload."""
        return all_job_types()


@blp.route("")
class Jobs(MethodView):
    @auth_required(lean=True)
    @idempotent
    @blp.arguments(JobCreateSchema)
    @blp.response(202, JobSchema)
    @blp.alt_response(429, response="TOO_MANY_REQUESTS",
                      description="Over the tenant's job rate; see Retry-After.")
    def post(self, data):
        """Queue a job. Unknown types and payloads not matching the type's schema are 422."""
        p = current_principal()
        quotas.check_job_creation_rate(p.tenant_id)
        job = job_actions.create(p.actor, data["type"], data["payload"], run_at=data["run_at"],
                                 notify=data["notify"], priority=data["priority"])
        set_message("Job queued.")
        return job

    @auth_required()
    @blp.arguments(JobQuerySchema, location="query")
    @blp.response(200, JobSchema(many=True))
    def get(self, args):
        """The tenant's jobs, newest first; filter by status, type and creation time."""
        p = current_principal()
        query = select(Job)
        if args["all_tenants"]:
            if not p.is_staff:
                raise Forbidden("Only hub staff can list every tenant's jobs.")
        else:
            query = query.where(Job.tenant_id == p.tenant_id)
        if "status" in args:
            query = query.where(Job.status == args["status"])
        if "type" in args:
            query = query.where(Job.type == args["type"])
        if "created_after" in args:
            query = query.where(Job.created_at >= args["created_after"])
        if "created_before" in args:
            query = query.where(Job.created_at < args["created_before"])
        items, total = paginate(query, args["page"], args["per_page"],
                                Job.created_at.desc(), Job.id)
        set_pagination(args["page"], args["per_page"], total)
        return items


@blp.route("/batch")
class JobBatch(MethodView):
    @auth_required(lean=True)
    @idempotent
    @blp.arguments(JobBatchSchema)
    @blp.response(202, JobSchema(many=True))
    @blp.alt_response(429, response="TOO_MANY_REQUESTS",
                      description="The batch does not fit the tenant's job rate; see Retry-After.")
    def post(self, data):
        """Queue up to JOB_BATCH_MAX jobs at once, all or none; the answer lists them in order.

        Any invalid job makes it a 422 with that job's errors under
        `details.fields.json.jobs.<index>`, and nothing is queued. Every job counts
        against the tenant's creation rate: a batch that does not fit is refused whole.
        """
        p = current_principal()
        specs = [intake.NewJob(j["type"], j["payload"], j["run_at"], j["notify"], priority=j["priority"])
                 for j in data["jobs"]]
        types = intake.validate(specs, batch=True, tenant_id=p.tenant_id)  # an invalid batch counts nothing
        quotas.check_job_creation_rate(p.tenant_id, cost=len(specs))
        queued = job_actions.create_batch(p.actor, specs, types)
        set_message(f"{len(queued)} jobs queued.")
        return queued


@blp.route("/<uuid:job_id>")
class JobById(MethodView):
    @auth_required()
    @blp.response(200, JobSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, job_id: uuid.UUID):
        """One job."""
        return _visible_job(job_id)


@blp.route("/<uuid:job_id>/events")
class JobEvents(MethodView):
    @auth_required()
    @blp.arguments(PaginationArgsSchema, location="query")
    @blp.response(200, JobEventSchema(many=True))
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, args, job_id: uuid.UUID):
        """The job's transitions and progress steps, oldest first."""
        events, total = jobs.list_events(_visible_job(job_id), args["page"], args["per_page"])
        set_pagination(args["page"], args["per_page"], total)
        return events


@blp.route("/<uuid:job_id>/cancel")
class JobCancel(MethodView):
    @auth_required()
    @blp.response(200, JobSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="The job already finished.")
    def post(self, job_id: uuid.UUID):
        """Cancel a queued, retrying or running job (a running one stops at its next checkpoint)."""
        set_message("Job cancelled.")
        return job_actions.cancel(current_principal().actor, _visible_job(job_id))


@blp.route("/<uuid:job_id>/retry")
class JobRetry(MethodView):
    @auth_required()
    @blp.response(202, JobSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="Only failed or cancelled jobs.")
    def post(self, job_id: uuid.UUID):
        """Queue a failed or cancelled job again; attempts keep counting."""
        set_message("Job queued for retry.")
        return job_actions.retry(current_principal().actor, _visible_job(job_id))


def document_job_types(spec) -> None:
    """Spell out in the OpenAPI document which payload each job type takes.

    marshmallow can only say "payload is an object"; each creatable type's JSON
    schema becomes one branch of a `oneOf` on the request body, so clients and
    generated tests see the real contract.
    """
    create = spec.components.schemas.get("JobCreate")
    if create is None:
        return
    branches = []
    for jtype in all_job_types():
        if jtype.creatable:
            branch = {"properties": {"type": {"const": jtype.name}, "payload": jtype.schema},
                      "required": ["type", "payload"] if jtype.schema.get("required") else ["type"]}
            branches.append(branch)
    create["oneOf"] = branches
