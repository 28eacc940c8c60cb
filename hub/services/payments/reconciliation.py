"""Reconciliation runs: queue them (API, nightly beat, settled payouts) and run them.

`payments.reconcile` pages through the period's Stripe balance transactions
(through the library's client, page by page as plain JSON: see
`stripe_api.iter_balance_transactions`) and payouts (the library's
auto-pagination), streams them into the pure matcher
(`hub.services.payments.matching`), and stores the report on the run's
`reconciliations` row. Nothing but the matcher's per-invoice records and
bounded lists is kept, so memory stays flat however long the period.
"""
from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any, Iterator

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub import jobs
from hub.extensions import db
from hub.integrations import stripe_api
from hub.jobs import events
from hub.jobs.types import JobContext, PermanentError, RetryPolicy, job_type
from hub.models import Job, utcnow
from hub.models.base import paginate
from hub.models.payment import Invoice, Reconciliation, StripeLink
from hub.realtime import notify_tenant
from hub.services.payments import invoices, stripe_settings
from hub.services.payments.matching import InvoiceRef, Matcher
from hub.web.errors import NotFound, ValidationFailed

log = logging.getLogger(__name__)

RECONCILE = "payments.reconcile"
MAX_PERIOD = timedelta(days=366)
PROGRESS_EVERY = 1.0  # seconds between progress records while paging
ISO = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["from", "to"],
    "properties": {
        "from": {"type": "string", "pattern": ISO, "description": "Start (inclusive), ISO 8601 with offset."},
        "to": {"type": "string", "pattern": ISO, "description": "End (exclusive), ISO 8601 with offset."},
        "payout": {"type": "string", "pattern": "^po_[A-Za-z0-9]+$",
                   "description": "Only the transactions this payout settled."},
        "reconciliation_id": {"type": "string", "format": "uuid"},
    },
}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return parsed.astimezone(UTC)


def check_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed("`to` must be after `from`.",
                               details={"fields": {"json": {"to": ["must be after from"]}}})
    if end - start > MAX_PERIOD:
        raise ValidationFailed("The period is longer than a year.",
                               details={"fields": {"json": {"to": ["at most 366 days after from"]}}})


# --- queueing ----------------------------------------------------------------------

def create(tenant_id: uuid.UUID, start: datetime, end: datetime, *, trigger: str = "api",
           payout: str | None = None, dedupe_key: str | None = None,
           created_by: uuid.UUID | None = None, api_key_id: uuid.UUID | None = None) -> Reconciliation:
    """Add a reconciliation row and its job to the session; `jobs.commit_and_dispatch()` sends it."""
    check_period(start, end)
    rec = Reconciliation(id=uuid.uuid4(), tenant_id=tenant_id, period_from=start, period_to=end,
                         payout_id=payout, trigger=trigger, dedupe_key=dedupe_key, status="queued",
                         created_by=created_by)
    db.session.add(rec)
    db.session.flush()
    payload: dict[str, Any] = {"from": _iso(start), "to": _iso(end), "reconciliation_id": str(rec.id)}
    if payout:
        payload["payout"] = payout
    job = jobs.create_job(tenant_id, RECONCILE, payload, created_by=created_by, api_key_id=api_key_id,
                          internal=True)
    rec.job_id = job.id
    return rec


def _create_once(tenant_id: uuid.UUID, dedupe_key: str, start: datetime, end: datetime,
                 **kw: Any) -> tuple[Reconciliation, bool]:
    existing = db.session.scalar(select(Reconciliation).where(
        Reconciliation.tenant_id == tenant_id, Reconciliation.dedupe_key == dedupe_key))
    if existing is not None:
        return existing, False
    try:
        with db.session.begin_nested():
            return create(tenant_id, start, end, dedupe_key=dedupe_key, **kw), True
    except IntegrityError:  # queued by someone else a moment ago
        return db.session.scalar(select(Reconciliation).where(
            Reconciliation.tenant_id == tenant_id, Reconciliation.dedupe_key == dedupe_key)), False


def queue_payout(tenant_id: uuid.UUID, payout: dict[str, Any],
                 account: str | None) -> tuple[Reconciliation, bool]:
    """Reconcile the transactions one settled payout paid out (once per payout)."""
    created = datetime.fromtimestamp(payout.get("created") or time.time(), UTC)
    return _create_once(tenant_id, f"payout:{payout['id']}", created - timedelta(days=1),
                        created + timedelta(days=1), trigger="payout", payout=payout["id"])


def tenants_with_stripe() -> list[uuid.UUID]:
    return list(db.session.scalars(select(StripeLink.tenant_id).group_by(StripeLink.tenant_id)
                                   .order_by(StripeLink.tenant_id)))


def queue_nightly(today: datetime | None = None) -> int:
    """Yesterday's reconciliation for each tenant linked to Stripe, once per tenant and day."""
    if stripe_settings.current() is None:
        return 0
    today_start = datetime.combine((today or utcnow()).astimezone(UTC).date(), dtime(), UTC)
    start = today_start - timedelta(days=1)
    queued = 0
    for tenant_id in tenants_with_stripe():
        _rec, created = _create_once(tenant_id, f"nightly:{start.date().isoformat()}", start,
                                     today_start, trigger="nightly")
        queued += created
    jobs.commit_and_dispatch()
    return queued


# --- reading -------------------------------------------------------------------------

def get(tenant_id: uuid.UUID, rec_id: uuid.UUID) -> Reconciliation:
    rec = db.session.get(Reconciliation, rec_id)
    if rec is None or rec.tenant_id != tenant_id:
        raise NotFound("Reconciliation not found.")
    return rec


def list_for(tenant_id: uuid.UUID, page: int, per_page: int,
             status: str | None = None) -> tuple[list[Reconciliation], int]:
    query = select(Reconciliation).where(Reconciliation.tenant_id == tenant_id)
    if status:
        query = query.where(Reconciliation.status == status)
    return paginate(query, page, per_page, Reconciliation.created_at.desc(), Reconciliation.id)


def job_of(rec: Reconciliation) -> Job | None:
    return db.session.get(Job, rec.job_id) if rec.job_id else None


# --- running -------------------------------------------------------------------------

def _row_for(ctx: JobContext, start: datetime, end: datetime, payout: str | None) -> Reconciliation:
    rec = db.session.scalar(select(Reconciliation).where(Reconciliation.job_id == ctx.job_id))
    if rec is None:  # queued through POST /jobs: the run gets its row now
        rec = Reconciliation(id=uuid.uuid4(), tenant_id=ctx.tenant_id, job_id=ctx.job_id,
                             period_from=start, period_to=end, payout_id=payout, trigger="job")
        db.session.add(rec)
    return rec


def invoice_refs(tenant_id: uuid.UUID, start: datetime, end: datetime, window: timedelta,
                 lookback: timedelta, flag_unpaid: bool = True) -> Iterator[InvoiceRef]:
    """The tenant's invoices a payment in the period could be for, streamed from the database.

    `flag_unpaid=False` (a payout's run) lists no invoice as unpaid: one payout
    settles only some of the period's payments.
    """
    query = (select(Invoice.id, Invoice.number, Invoice.amount, Invoice.currency, Invoice.due_date,
                    Invoice.stripe_customer_id, Invoice.stripe_invoice_id,
                    Invoice.stripe_payment_intent_id, Invoice.stripe_charge_id, Invoice.status)
             .where(Invoice.tenant_id == tenant_id, Invoice.status.not_in(("void", "draft")),
                    Invoice.due_date >= (start - lookback).date(), Invoice.due_date <= (end + window).date())
             .execution_options(yield_per=2000))
    for row in db.session.execute(query):
        due = datetime.combine(row.due_date, dtime(), UTC)
        yield InvoiceRef(id=str(row.id), number=row.number, amount=row.amount, currency=row.currency,
                         due=int(due.timestamp()), customer=row.stripe_customer_id,
                         stripe_invoice_id=row.stripe_invoice_id,
                         payment_intent_id=row.stripe_payment_intent_id, charge_id=row.stripe_charge_id,
                         status=row.status, in_period=flag_unpaid and start <= due < end)


class _Progress:
    """Progress while paging: from how far back in the period the stream has got (newest first)."""

    def __init__(self, ctx: JobContext, start: int, end: int) -> None:
        self.ctx, self.start, self.end = ctx, start, end
        self.last = 0.0
        self.pages = 0

    def __call__(self, rows: int, created: int) -> None:
        self.pages += 1
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        span = max(1, self.end - self.start)
        done = (self.end - created) / span if created else 1.0
        self.ctx.progress(5 + int(85 * min(1.0, max(0.0, done))),
                          f"read {rows} Stripe transactions ({self.pages} pages)")


@job_type(RECONCILE, schema=SCHEMA, queue="payments",
          retry=RetryPolicy(max_attempts=6, base_delay=30.0, max_delay=1800.0),
          flow_keys=invoices.stripe_flow_keys,
          description="Match the period's Stripe balance transactions and payouts to the tenant's "
                      "invoices and store the report.")
def reconcile(ctx: JobContext) -> dict[str, Any]:
    settings = stripe_settings.require_for_job()
    try:
        start, end = _parse(ctx.payload["from"]), _parse(ctx.payload["to"])
    except ValueError:
        raise PermanentError("`from` and `to` must be ISO 8601 times with an offset.",
                             code="INVALID_PERIOD") from None
    if end <= start:
        raise PermanentError("`to` must be after `from`.", code="INVALID_PERIOD")
    payout = ctx.payload.get("payout")
    rec = _row_for(ctx, start, end, payout)
    rec.status, rec.error = "running", None
    db.session.commit()
    links = db.session.execute(select(StripeLink.kind, StripeLink.stripe_id)
                               .where(StripeLink.tenant_id == ctx.tenant_id)).all()
    account = next((s for k, s in links if k == "account"), None)
    customers = None if account else {s for k, s in links if k == "customer"}
    if not account and not customers:
        raise PermanentError("No Stripe customer or account is linked to this tenant yet "
                             "(create an invoice with a Stripe customer, or POST /payments/stripe-links).",
                             code="STRIPE_NOT_LINKED")
    cfg = current_app.config
    window = timedelta(days=cfg["STRIPE_MATCH_WINDOW_DAYS"])
    matcher = Matcher(invoice_refs(ctx.tenant_id, start, end, window,
                                   timedelta(days=cfg["STRIPE_RECONCILE_LOOKBACK_DAYS"]),
                                   flag_unpaid=payout is None),
                      window=int(window.total_seconds()), list_limit=cfg["STRIPE_REPORT_LIST_LIMIT"],
                      customers=customers)
    db.session.commit()  # no transaction open while paging
    ctx.progress(5, "reading Stripe balance transactions")
    progress = _Progress(ctx, int(start.timestamp()), int(end.timestamp()))
    try:
        matcher.feed(stripe_api.iter_balance_transactions(settings, int(start.timestamp()),
                                                          int(end.timestamp()), account=account,
                                                          payout=payout, on_page=progress))
        if not payout:
            ctx.progress(92, "reading Stripe payouts")
            for po in stripe_api.iter_payouts(settings, int(start.timestamp()), int(end.timestamp()),
                                              account=account):
                matcher.add_payout(po)
    except stripe_api.StripeError as exc:
        raise stripe_settings.job_error(exc) from None
    report = matcher.report()
    report.update({"period": {"from": _iso(start), "to": _iso(end)}, "pages": progress.pages,
                   "scope": {"account": account, "payout": payout,
                             "customers": len(customers) if customers is not None else None}})
    return _finish(ctx, rec.id, report)


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of a report (for the result, the event and the notification)."""
    counts = {name: report[name]["count"] for name in
              ("matched", "unmatched", "unpaid", "partly_paid", "amount_mismatches",
               "currency_mismatches", "duplicates")}
    return {"transactions": report["transactions"], "counts": counts, "totals": report["totals"]}


def _finish(ctx: JobContext, rec_id: uuid.UUID, report: dict[str, Any]) -> dict[str, Any]:
    rec = db.session.get(Reconciliation, rec_id)
    rec.report, rec.status, rec.finished_at, rec.error = report, "succeeded", utcnow(), None
    headline = {"reconciliation_id": str(rec.id), "period": report["period"],
                "payout": rec.payout_id, **summary(report)}
    events.publish(ctx.tenant_id, "payment.reconciled", headline)
    jobs.commit_and_dispatch()
    issues = sum(v for k, v in headline["counts"].items() if k != "matched")
    notify_tenant(ctx.tenant_id, "reconciliation.finished",
                  f"Reconciliation finished: {headline['counts']['matched']} invoices matched, "
                  f"{issues} to look at.", headline)
    return headline


def _mark_failed(tenant_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> None:
    """job.failed listener: the run's row says failed, with the job's error."""
    if data.get("type") != RECONCILE:
        return
    rec = db.session.scalar(select(Reconciliation).where(Reconciliation.job_id == uuid.UUID(data["id"])))
    if rec is not None and rec.status != "succeeded":
        rec.status, rec.error, rec.finished_at = "failed", data.get("error"), utcnow()


events.subscribe("job.failed", _mark_failed)
