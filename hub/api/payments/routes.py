"""Invoices, reconciliations and Stripe links (the webhook endpoint is in webhook.py)."""
from __future__ import annotations

import uuid
from typing import Any

from flask import request
from flask.views import MethodView

from hub import audit, jobs
from hub.api.access import auth_required, current_principal
from hub.api.idempotency import idempotent
from hub.api.payments.schemas import (
    InvoiceCreateSchema,
    InvoiceQuerySchema,
    InvoiceSchema,
    ReconciliationCreateSchema,
    ReconciliationJobSchema,
    ReconciliationQuerySchema,
    ReconciliationSchema,
    StripeCustomerCreateSchema,
    StripeLinkCreateSchema,
    StripeLinkSchema,
    StripeLinkTargetSchema,
)
from hub.models import Job
from hub.models.payment import Reconciliation
from hub.services import quotas
from hub.services.payments import invoices, reconciliation, stripe_settings
from hub.web.envelope import HubBlueprint, PaginationArgsSchema, set_message, set_pagination

invoices_blp = HubBlueprint("invoices", __name__, url_prefix="/invoices",
                            description="The tenant's invoices and what Stripe says about them.")
payments_blp = HubBlueprint("payments", __name__, url_prefix="/payments",
                            description="Stripe reconciliation and which Stripe customers are yours. "
                                        "503 while Stripe is not configured.")


@invoices_blp.route("")
class Invoices(MethodView):
    @auth_required()
    @idempotent
    @invoices_blp.arguments(InvoiceCreateSchema)
    @invoices_blp.response(201, InvoiceSchema)
    @invoices_blp.alt_response(409, response="CONFLICT", description="The number is taken.")
    def post(self, data: dict[str, Any]):
        """Create an invoice. Its Stripe ids are references: it never links a Stripe customer
        (see POST /payments/customers and /payments/stripe-links)."""
        set_message("Invoice created.")
        return invoices.create_invoice(current_principal().actor, data)

    @auth_required()
    @invoices_blp.arguments(InvoiceQuerySchema, location="query")
    @invoices_blp.response(200, InvoiceSchema(many=True))
    def get(self, args: dict[str, Any]):
        """The tenant's invoices, latest due date first."""
        items, total = invoices.list_invoices(
            current_principal().tenant_id, args["page"], args["per_page"], status=args.get("status"),
            customer_ref=args.get("customer_ref"), due_after=args.get("due_after"),
            due_before=args.get("due_before"))
        set_pagination(args["page"], args["per_page"], total)
        return items


@invoices_blp.route("/<uuid:invoice_id>")
class InvoiceById(MethodView):
    @auth_required()
    @invoices_blp.response(200, InvoiceSchema)
    @invoices_blp.alt_response(404, response="NOT_FOUND")
    def get(self, invoice_id: uuid.UUID):
        """One invoice."""
        return invoices.get_invoice(current_principal().tenant_id, invoice_id)


def _reconciliation_view(rec: Reconciliation) -> dict[str, Any]:
    job = reconciliation.job_of(rec)
    status = rec.status
    if status in ("queued", "running") and job is not None and job.status in ("failed", "cancelled"):
        status = "failed"
    return {"id": rec.id, "status": status, "trigger": rec.trigger, "period_from": rec.period_from,
            "period_to": rec.period_to, "payout_id": rec.payout_id, "job_id": rec.job_id,
            "job": job, "report": rec.report, "error": rec.error or (job.error if job else None),
            "created_at": rec.created_at, "finished_at": rec.finished_at}


@payments_blp.route("/reconciliations")
class Reconciliations(MethodView):
    @auth_required()
    @idempotent
    @payments_blp.arguments(ReconciliationCreateSchema)
    @payments_blp.response(202, ReconciliationJobSchema)
    @payments_blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="Stripe is not configured.")
    def post(self, data: dict[str, Any]):
        """Reconcile a period: queue a `payments.reconcile` job; its report appears on the
        reconciliation (`reconciliation_id`)."""
        stripe_settings.require_for_api()
        p = current_principal()
        quotas.check_job_creation_rate(p.tenant_id)
        rec = reconciliation.create(p.tenant_id, data["from_"], data["to"],
                                    created_by=p.user.id if p.user else None,
                                    api_key_id=p.api_key.id if p.api_key else None)
        audit.record(p.actor, "reconciliation.requested", "reconciliation", rec.id,
                     {"from": data["from_"].isoformat(), "to": data["to"].isoformat()})
        job = jobs.get_job(rec.job_id, p.tenant_id)
        rec_id = rec.id
        jobs.commit_and_dispatch()
        set_message("Reconciliation queued.")
        return {**{c.key: getattr(job, c.key) for c in Job.__table__.columns}, "reconciliation_id": rec_id}

    @auth_required()
    @payments_blp.arguments(ReconciliationQuerySchema, location="query")
    @payments_blp.response(200, ReconciliationSchema(many=True))
    @payments_blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="Stripe is not configured.")
    def get(self, args: dict[str, Any]):
        """The tenant's reconciliations, newest first, with their reports."""
        stripe_settings.require_for_api()
        items, total = reconciliation.list_for(current_principal().tenant_id, args["page"],
                                               args["per_page"], args.get("status"))
        set_pagination(args["page"], args["per_page"], total)
        return [_reconciliation_view(rec) for rec in items]


@payments_blp.route("/reconciliations/<uuid:rec_id>")
class ReconciliationById(MethodView):
    @auth_required()
    @payments_blp.response(200, ReconciliationSchema)
    @payments_blp.alt_response(404, response="NOT_FOUND")
    @payments_blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="Stripe is not configured.")
    def get(self, rec_id: uuid.UUID):
        """One reconciliation and its report."""
        stripe_settings.require_for_api()
        return _reconciliation_view(reconciliation.get(current_principal().tenant_id, rec_id))


@payments_blp.route("/customers")
class StripeCustomers(MethodView):
    @auth_required(admin=True)
    @idempotent
    @payments_blp.arguments(StripeCustomerCreateSchema)
    @payments_blp.response(201, StripeLinkSchema)
    @payments_blp.alt_response(503, response="SERVICE_UNAVAILABLE",
                               description="Stripe is not configured or not reachable.")
    def post(self, data: dict[str, Any]):
        """Create a Stripe customer for your tenant (its `metadata.hub_tenant_id` is your tenant's
        id) and link it: the link you get back is the customer's."""
        settings = stripe_settings.require_for_api()
        key = request.headers.get("Idempotency-Key") or uuid.uuid4().hex
        set_message("Stripe customer created and linked.")
        return invoices.create_customer(current_principal().actor, data, settings, key)


@payments_blp.route("/stripe-links")
class StripeLinks(MethodView):
    @auth_required(admin=True)
    @payments_blp.arguments(StripeLinkTargetSchema, location="query")
    @payments_blp.arguments(StripeLinkCreateSchema)
    @payments_blp.response(201, StripeLinkSchema)
    @payments_blp.alt_response(409, response="CONFLICT", description="The id cannot be linked.")
    @payments_blp.alt_response(503, response="SERVICE_UNAVAILABLE",
                               description="Stripe is not configured or not reachable.")
    @payments_blp.doc(description=(
        "Needs proof of ownership. A customer (`cus_...`) is linked only if its Stripe "
        "`metadata.hub_tenant_id` is your tenant's id (read from Stripe now), else 403 saying how "
        "to prove it. A connected account (`acct_...`) is linked by hub staff only, else 403; "
        "staff name the tenant with `tenant_id`."))
    def post(self, target: dict[str, Any], data: dict[str, Any]):
        """Link a Stripe customer or connected account (events and reconciliations are routed
        by these links)."""
        settings = stripe_settings.require_for_api()
        p = current_principal()
        set_message("Stripe link created.")
        return invoices.add_link(p.actor, data["kind"], data["stripe_id"], settings,
                                 is_staff=p.is_staff, tenant_id=target.get("tenant_id"))

    @auth_required(admin=True)
    @payments_blp.arguments(PaginationArgsSchema, location="query")
    @payments_blp.response(200, StripeLinkSchema(many=True))
    def get(self, args: dict[str, Any]):
        """Your tenant's Stripe customers and accounts."""
        stripe_settings.require_for_api()
        items, total = invoices.list_links(current_principal().tenant_id, args["page"], args["per_page"])
        set_pagination(args["page"], args["per_page"], total)
        return items


@payments_blp.route("/stripe-links/<uuid:link_id>")
class StripeLinkById(MethodView):
    @auth_required(admin=True)
    @payments_blp.response(200)
    @payments_blp.alt_response(404, response="NOT_FOUND")
    def delete(self, link_id: uuid.UUID):
        """Unlink a Stripe customer or account."""
        stripe_settings.require_for_api()
        invoices.delete_link(current_principal().actor, link_id)
        set_message("Stripe link deleted.")
        return None
