"""Stripe objects shaped as in Stripe's API reference, and generated months of them.

`Month` fills a FakeStripe with a month of payments for a set of customers,
with mismatches of every kind planted, and says exactly what a correct
reconciliation must find. Used by the payments tests and bench/reconcile.py.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

DAY = 86400


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def customer(cid: str, email: str | None = None, created: int = 1_700_000_000,
             tenant_id: str | None = None) -> dict[str, Any]:
    """A customer; `tenant_id` puts the hub's proof of ownership in its metadata."""
    return {"id": cid, "object": "customer", "created": created, "email": email, "name": None,
            "currency": "eur", "livemode": False,
            "metadata": {"hub_tenant_id": tenant_id} if tenant_id else {}, "delinquent": False}


def payment_intent(pid: str, amount: int, currency: str, customer_id: str | None, created: int, *,
                   status: str = "succeeded", latest_charge: str | None = None,
                   metadata: dict[str, str] | None = None) -> dict[str, Any]:
    return {"id": pid, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
            "amount_received": amount if status == "succeeded" else 0, "capture_method": "automatic",
            "created": created, "currency": currency, "customer": customer_id,
            "latest_charge": latest_charge, "last_payment_error": None, "livemode": False,
            "metadata": metadata or {}, "payment_method_types": ["card"], "status": status}


def charge(cid: str, amount: int, currency: str, customer_id: str | None, created: int, *,
           payment_intent_id: str | None = None, balance_transaction: str | None = None,
           amount_refunded: int = 0, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    return {"id": cid, "object": "charge", "amount": amount, "amount_captured": amount,
            "amount_refunded": amount_refunded, "balance_transaction": balance_transaction,
            "billing_details": {"address": None, "email": None, "name": None, "phone": None},
            "captured": True, "created": created, "currency": currency, "customer": customer_id,
            "description": None, "failure_code": None, "failure_message": None, "livemode": False,
            "metadata": metadata or {}, "paid": True, "payment_intent": payment_intent_id,
            "refunded": amount_refunded >= amount, "status": "succeeded"}


def refund(rid: str, charge_id: str, amount: int, currency: str, created: int, *,
           payment_intent_id: str | None = None, balance_transaction: str | None = None) -> dict[str, Any]:
    return {"id": rid, "object": "refund", "amount": amount, "balance_transaction": balance_transaction,
            "charge": charge_id, "created": created, "currency": currency, "metadata": {},
            "payment_intent": payment_intent_id, "reason": None, "status": "succeeded"}


def payout(pid: str, amount: int, currency: str, created: int, *, status: str = "paid",
           balance_transaction: str | None = None) -> dict[str, Any]:
    return {"id": pid, "object": "payout", "amount": amount, "arrival_date": created + 2 * DAY,
            "automatic": True, "balance_transaction": balance_transaction, "created": created,
            "currency": currency, "description": "STRIPE PAYOUT", "destination": "ba_1Fake",
            "failure_code": "account_closed" if status == "failed" else None,
            "failure_message": None, "livemode": False, "metadata": {}, "method": "standard",
            "reconciliation_status": "completed" if status == "paid" else "not_applicable",
            "source_type": "card", "statement_descriptor": None, "status": status, "type": "bank_account"}


def invoice(iid: str, customer_id: str, amount: int, currency: str, created: int, *,
            status: str = "open", amount_paid: int = 0, due_date: int | None = None,
            number: str | None = None, attempt_count: int = 0,
            payment_intents: list[str] | None = None) -> dict[str, Any]:
    paid_at = created + 3600 if status == "paid" else None
    return {"id": iid, "object": "invoice", "account_country": "DE", "amount_due": amount,
            "amount_paid": amount_paid, "amount_remaining": max(0, amount - amount_paid),
            "attempt_count": attempt_count, "attempted": attempt_count > 0, "created": created,
            "currency": currency, "customer": customer_id, "due_date": due_date, "livemode": False,
            "metadata": {}, "number": number, "status": status, "total": amount,
            "status_transitions": {"finalized_at": created, "paid_at": paid_at, "voided_at": None,
                                   "marked_uncollectible_at": None},
            "_payments": [{"object": "invoice_payment", "id": new_id("inpay"), "amount_paid": amount_paid,
                           "status": "paid", "payment": {"type": "payment_intent", "payment_intent": pi}}
                          for pi in (payment_intents or [])]}


def balance_transaction(tid: str, type_: str, amount: int, currency: str, created: int, source: str, *,
                        fee: int = 0, payout_id: str | None = None) -> dict[str, Any]:
    category = {"charge": "charge", "payment": "charge", "refund": "refund", "payout": "payout",
                "stripe_fee": "fee"}.get(type_, "other_adjustment")
    bt = {"id": tid, "object": "balance_transaction", "amount": amount, "available_on": created + 2 * DAY,
          "balance_type": "payments", "created": created, "currency": currency, "description": None,
          "exchange_rate": None, "fee": fee,
          "fee_details": [{"amount": fee, "application": None, "currency": currency,
                           "description": "Stripe processing fees", "type": "stripe_fee"}] if fee else [],
          "net": amount - fee, "reporting_category": category, "source": source, "status": "available",
          "type": type_}
    if payout_id:
        bt["_payout"] = payout_id  # which payout settled it (the fake's `payout=` filter)
    return bt


def fee_for(amount: int) -> int:
    return round(amount * 0.029) + 25


# --- a generated month ------------------------------------------------------------

@dataclass
class PlannedInvoice:
    number: str
    customer_ref: str
    amount: int
    currency: str
    due_date: date
    stripe_customer_id: str
    stripe_payment_intent_id: str | None = None
    stripe_charge_id: str | None = None


@dataclass
class Month:
    """A month of Stripe activity in `fake`, for `customers` (Stripe ids), and the truth about it."""

    start: datetime
    end: datetime
    invoices: list[PlannedInvoice] = field(default_factory=list)
    expected: dict[str, set[str]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: {"gross": 0, "fees": 0, "refunds": 0,
                                                            "net": 0, "paid_out": 0})
    transactions: int = 0


def generate_month(fake: Any, customers: list[str], *, year: int = 2026, month: int = 10,
                   paid: int = 2000, planted: int = 7, account: str | None = None,
                   seed: int = 5, currency: str = "eur", with_objects: bool = True) -> Month:
    """Fill `fake` with `paid` cleanly paid invoices and `planted` cases of every mismatch.

    Half of the clean payments carry ids the invoice knows (payment intent), half
    match only by customer + amount + date. Amounts are unique per customer so
    no payment could match two invoices by chance.
    """
    rng = random.Random(seed)
    start = datetime(year, month, 1, tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    days = (end - start).days
    out = Month(start=start, end=end)
    for kind in ("unmatched", "unpaid", "partly_paid", "amount_mismatches", "currency_mismatches",
                 "duplicates"):
        out.expected[kind] = set()
    amounts = iter(rng.sample(range(1_000, 900_000), paid + 10 * planted + 10))
    counter = iter(range(1, 10**9))

    def put(obj: dict[str, Any]) -> None:
        if with_objects or obj["object"] == "balance_transaction":
            fake.put(obj, account=account)

    def pay(cust: str, amount: int, when: int, cur: str = currency, *, pi_meta=None) -> tuple[str, str]:
        pi_id, ch_id, bt_id = new_id("pi"), new_id("ch"), new_id("txn")
        fee = fee_for(amount)
        put(payment_intent(pi_id, amount, cur, cust, when, latest_charge=ch_id, metadata=pi_meta))
        put(charge(ch_id, amount, cur, cust, when, payment_intent_id=pi_id, balance_transaction=bt_id))
        put(balance_transaction(bt_id, "charge", amount, cur, when, ch_id, fee=fee))
        out.transactions += 1
        if cur == currency:
            out.totals["gross"] += amount
            out.totals["fees"] += fee
            out.totals["net"] += amount - fee
        return pi_id, ch_id

    def refund_of(ch_id: str, pi_id: str, amount: int, when: int) -> str:
        re_id, bt_id = new_id("re"), new_id("txn")
        put(refund(re_id, ch_id, amount, currency, when, payment_intent_id=pi_id, balance_transaction=bt_id))
        put(balance_transaction(bt_id, "refund", -amount, currency, when, re_id))
        out.transactions += 1
        out.totals["refunds"] += amount
        out.totals["net"] -= amount
        return bt_id

    def plan(amount: int, *, linked: bool, cust: str | None = None) -> tuple[PlannedInvoice, int]:
        cust = cust or rng.choice(customers)
        n = next(counter)
        due_day = rng.randrange(days)
        inv = PlannedInvoice(number=f"INV-{year}{month:02d}-{n:05d}", customer_ref=f"ref-{cust[-6:]}",
                             amount=amount, currency=currency,
                             due_date=(start + timedelta(days=due_day)).date(), stripe_customer_id=cust)
        out.invoices.append(inv)
        # Paid within a day either side of the due date, inside the month.
        when = int(start.timestamp()) + due_day * DAY + rng.randrange(-DAY // 2, DAY)
        when = min(max(when, int(start.timestamp())), int(end.timestamp()) - 1)
        return inv, when

    def linked_payment(inv: PlannedInvoice, amount: int, when: int, cur: str = currency) -> tuple[str, str]:
        pi_id, ch_id = pay(inv.stripe_customer_id, amount, when, cur)
        inv.stripe_payment_intent_id = pi_id
        return pi_id, ch_id

    for i in range(paid):
        amount = next(amounts)
        inv, when = plan(amount, linked=i % 2 == 0)
        if i % 2 == 0:
            linked_payment(inv, amount, when)
        else:
            pay(inv.stripe_customer_id, amount, when)
    month_start = int(start.timestamp())
    for _ in range(planted):
        # A payment no invoice asked for.
        when = month_start + rng.randrange(days * DAY - DAY)
        _pi, ch_id = pay(rng.choice(customers), next(amounts), when)
        out.expected["unmatched"].add(fake_bt_of(fake, ch_id, account))
        # An invoice nobody paid.
        inv, _when = plan(next(amounts), linked=False)
        out.expected["unpaid"].add(inv.number)
        # Paid short (by id), and paid in full then partly refunded (the refund comes first in the stream).
        amount = next(amounts)
        inv, when = plan(amount, linked=True)
        linked_payment(inv, amount - rng.randrange(1, amount // 2), when)
        out.expected["partly_paid"].add(inv.number)
        amount = next(amounts)
        inv, when = plan(amount, linked=False)
        pi_id, ch_id = pay(inv.stripe_customer_id, amount, when)
        refund_of(ch_id, pi_id, amount // 3, min(when + DAY, int(end.timestamp()) - 1))
        out.expected["partly_paid"].add(inv.number)
        # Charged more than the invoice says.
        amount = next(amounts)
        inv, when = plan(amount, linked=True)
        linked_payment(inv, amount + rng.randrange(1, 5000), when)
        out.expected["amount_mismatches"].add(inv.number)
        # Charged in another currency.
        amount = next(amounts)
        inv, when = plan(amount, linked=True)
        linked_payment(inv, amount, when, cur="usd")
        out.expected["currency_mismatches"].add(inv.number)
        # Paid twice: once by id, once more by the same customer for the same amount a bit later.
        amount = next(amounts)
        inv, when = plan(amount, linked=True)
        linked_payment(inv, amount, when)
        pay(inv.stripe_customer_id, amount, min(when + 3600, int(end.timestamp()) - 1))
        out.expected["duplicates"].add(inv.number)
    # Weekly payouts of what came in, and a monthly Stripe fee.
    for week in range(4):
        when = month_start + (week * 7 + 6) * DAY
        amount = 100_000 + week
        po_id, bt_id = new_id("po"), new_id("txn")
        put(payout(po_id, amount, currency, when, balance_transaction=bt_id))
        put(balance_transaction(bt_id, "payout", -amount, currency, when, po_id))
        out.transactions += 1
        out.totals["paid_out"] += amount
    fee_tx = balance_transaction(new_id("txn"), "stripe_fee", -1999, currency, month_start + 2 * DAY,
                                 "fee_" + secrets.token_hex(6))
    put(fee_tx)
    out.transactions += 1
    out.totals["fees"] += 1999
    out.totals["net"] -= 1999
    return out


def fake_bt_of(fake: Any, charge_id: str, account: str | None) -> str:
    obj = fake.get(charge_id, account)
    return obj["balance_transaction"] if obj else ""
