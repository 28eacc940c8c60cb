import re

import marshmallow as ma

from hub.api.jobs.schemas import JobSchema
from hub.api.schemas import UTCDateTimeField
from hub.models.payment import INVOICE_STATUSES, LINK_KINDS, RECONCILIATION_STATUSES
from hub.web.envelope import PaginationArgsSchema

CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def _stripe_id(prefix: str, what: str) -> ma.fields.String:
    return ma.fields.String(load_default=None, allow_none=True,
                            validate=ma.validate.Regexp(rf"^{prefix}_[A-Za-z0-9]{{1,250}}$",
                                                        error=f"not a Stripe {what} id ({prefix}_...)"),
                            metadata={"description": f"Stripe {what} id ({prefix}_...)."})


class InvoiceCreateSchema(ma.Schema):
    number = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    customer_ref = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200),
                                    metadata={"description": "Your reference for the customer."})
    amount = ma.fields.Integer(required=True, strict=True,
                               validate=ma.validate.Range(min=1, max=10**12),
                               metadata={"description": "In minor units (cents) of the currency."})
    currency = ma.fields.String(required=True, validate=ma.validate.Regexp(
        CURRENCY, error="a three-letter ISO 4217 code"))
    due_date = ma.fields.Date(required=True)
    status = ma.fields.String(load_default="open", validate=ma.validate.OneOf(("draft", "open")),
                              metadata={"description": "Later states come from Stripe."})
    description = ma.fields.String(load_default=None, allow_none=True,
                                   validate=ma.validate.Length(max=500))
    stripe_customer_id = ma.fields.String(
        load_default=None, allow_none=True,
        validate=ma.validate.Regexp(r"^cus_[A-Za-z0-9]{1,250}$", error="not a Stripe customer id (cus_...)"),
        metadata={"description": "Stripe customer id (cus_...). A reference only: it links nothing. "
                                 "Link the customer first (POST /payments/customers or "
                                 "/payments/stripe-links), or its payments do not reach you."})
    stripe_invoice_id = _stripe_id("in", "invoice")
    stripe_payment_intent_id = _stripe_id("pi", "payment intent")
    stripe_charge_id = _stripe_id("ch", "charge")


class InvoiceSchema(ma.Schema):
    id = ma.fields.UUID()
    number = ma.fields.String()
    customer_ref = ma.fields.String()
    amount = ma.fields.Integer()
    currency = ma.fields.String()
    due_date = ma.fields.Date()
    status = ma.fields.String(metadata={"enum": list(INVOICE_STATUSES)})
    description = ma.fields.String(allow_none=True)
    amount_paid = ma.fields.Integer(metadata={"description": "Received, per Stripe (minor units)."})
    amount_refunded = ma.fields.Integer()
    payment_attempts = ma.fields.Integer()
    last_payment_error = ma.fields.String(allow_none=True)
    paid_at = UTCDateTimeField(allow_none=True)
    stripe_customer_id = ma.fields.String(allow_none=True)
    stripe_invoice_id = ma.fields.String(allow_none=True)
    stripe_payment_intent_id = ma.fields.String(allow_none=True)
    stripe_charge_id = ma.fields.String(allow_none=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()


class InvoiceQuerySchema(PaginationArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(INVOICE_STATUSES))
    customer_ref = ma.fields.String(validate=ma.validate.Length(max=200))
    due_after = ma.fields.Date(metadata={"description": "Due on or after this day."})
    due_before = ma.fields.Date(metadata={"description": "Due before this day."})


class StripeLinkCreateSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(LINK_KINDS))
    stripe_id = ma.fields.String(required=True, validate=ma.validate.Regexp(
        r"^(cus|acct)_[A-Za-z0-9]{1,250}$", error="a Stripe customer (cus_...) or account (acct_...) id"))

    @ma.validates_schema
    def _prefix_matches_kind(self, data, **_kw):
        prefix = "cus_" if data["kind"] == "customer" else "acct_"
        if not data["stripe_id"].startswith(prefix):
            raise ma.ValidationError(f"a {data['kind']} id starts with {prefix}", "stripe_id")


class StripeLinkTargetSchema(ma.Schema):
    tenant_id = ma.fields.UUID(metadata={
        "description": "Hub staff only: link to this tenant instead of your own."})


class StripeCustomerCreateSchema(ma.Schema):
    name = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=256))
    email = ma.fields.Email(load_default=None, allow_none=True, validate=ma.validate.Length(max=320))
    description = ma.fields.String(load_default=None, allow_none=True,
                                   validate=ma.validate.Length(max=350))


class StripeLinkSchema(ma.Schema):
    id = ma.fields.UUID()
    kind = ma.fields.String()
    stripe_id = ma.fields.String()
    created_at = UTCDateTimeField()


class ReconciliationCreateSchema(ma.Schema):
    from_ = UTCDateTimeField(required=True, data_key="from",
                             metadata={"description": "Start of the period (inclusive)."})
    to = UTCDateTimeField(required=True, metadata={"description": "End of the period (exclusive)."})


class ReconciliationQuerySchema(PaginationArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(RECONCILIATION_STATUSES))


class ReconciliationJobSchema(JobSchema):
    """The job (API.md: POST answers with the job), and the id of the report it will fill."""

    reconciliation_id = ma.fields.UUID()


class JobSummarySchema(ma.Schema):
    id = ma.fields.UUID()
    status = ma.fields.String()
    progress = ma.fields.Integer()
    message = ma.fields.String(allow_none=True)


class ReconciliationSchema(ma.Schema):
    id = ma.fields.UUID()
    status = ma.fields.String(metadata={"enum": list(RECONCILIATION_STATUSES)})
    trigger = ma.fields.String(metadata={"enum": ["api", "nightly", "payout", "job"]})
    period_from = UTCDateTimeField(data_key="from")
    period_to = UTCDateTimeField(data_key="to")
    payout_id = ma.fields.String(allow_none=True)
    job_id = ma.fields.UUID(allow_none=True)
    job = ma.fields.Nested(JobSummarySchema, allow_none=True)
    report = ma.fields.Dict(allow_none=True, metadata={
        "description": "totals per currency (gross, fees, refunds, net, paid_out), matched, unmatched, "
                       "unpaid, partly_paid, amount_mismatches, currency_mismatches, duplicates, "
                       "payouts; lists are bounded (count, amount, items, truncated)."})
    error = ma.fields.Dict(allow_none=True)
    created_at = UTCDateTimeField()
    finished_at = UTCDateTimeField(allow_none=True)


class WebhookAckSchema(ma.Schema):
    received = ma.fields.Boolean()
    duplicate = ma.fields.Boolean()
    event_id = ma.fields.String()
    status = ma.fields.String()
