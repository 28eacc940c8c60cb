"""Matching Stripe balance transactions to invoices: a pure, streaming core.

No database, no network: `Matcher` is fed invoices (`InvoiceRef`) up front and
balance transactions (the flat dicts `hub.integrations.stripe_api` yields) as a
stream (`feed`) or one at a time (`add`), and `report()` says what matched and
what did not. It keeps one
small record per invoice and bounded lists, never the transactions, so memory
stays flat however long the period (tests and bench/reconcile.py use it alone).

How a payment finds its invoice:
1. by ids: the charge, the payment intent, the Stripe invoice, or the hub
   invoice id in the charge's metadata (`hub_invoice_id`);
2. otherwise by customer + currency + amount, with the invoice's due date
   within `window` seconds of the payment (the closest unpaid one first; an
   already paid one if that is all there is: a likely duplicate).

What the report calls what (each invoice lands in at most one list):
- matched: invoices whose payments in the period add up exactly;
- partly_paid: net received (payments - refunds) above 0 but below the amount;
- unpaid: due in the period, nothing received, and not already paid per the hub;
- amount_mismatches: one payment, and it was larger than the invoice;
- duplicates: two or more payments that together exceed the invoice;
- currency_mismatches: a payment matched by id but in another currency (not applied);
- unmatched: payments and refunds that belong to no invoice.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

PAYMENT_TYPES = frozenset({"charge", "payment"})
REFUND_TYPES = frozenset({"refund", "payment_refund", "payment_failure_refund"})
PAYOUT_TYPES = frozenset({"payout", "payout_cancel", "payout_failure"})
MAX_TX_IDS = 5  # per invoice, for the lists in the report
PAID_PENALTY = 10**12  # seconds: any unpaid candidate beats any already paid one


@dataclass(slots=True)
class InvoiceRef:
    """What matching needs to know of one hub invoice."""

    id: str
    number: str
    amount: int
    currency: str
    due: int                      # due date, epoch seconds (start of the day, UTC)
    customer: str | None = None   # Stripe customer id
    stripe_invoice_id: str | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    status: str = "open"
    in_period: bool = True        # due within the reconciled period
    # Filled while matching:
    received: int = 0
    refunded: int = 0
    payments: int = 0
    currency_mismatch: bool = False
    # The first transactions matched to it (for the report's lists). Kept as a
    # string, then a list only for the few with several: no allocation per row.
    first_tx: str | None = None
    more_tx: list[str] | None = None

    @property
    def net(self) -> int:
        return self.received - self.refunded

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "number": self.number, "amount": self.amount, "currency": self.currency,
                "customer": self.customer, "received": self.received, "refunded": self.refunded,
                "outstanding": max(0, self.amount - self.net), "payments": self.payments,
                "transactions": self.transactions()}

    def transactions(self) -> list[str]:
        return ([self.first_tx] if self.first_tx else []) + (self.more_tx or [])

    def note(self, tx_id: str) -> None:
        """Remember a transaction matched to this invoice (the first MAX_TX_IDS)."""
        if self.first_tx is None:
            self.first_tx = tx_id
        elif self.more_tx is None:
            self.more_tx = [tx_id]
        elif len(self.more_tx) < MAX_TX_IDS - 1:
            self.more_tx.append(tx_id)


class BoundedList:
    """A count and a total of everything added, and the first `limit` items."""

    __slots__ = ("limit", "count", "items", "amount")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.items: list[dict[str, Any]] = []
        self.amount: dict[str, int] = defaultdict(int)

    def add(self, item: dict[str, Any], amount: int = 0, currency: str | None = None) -> None:
        self.count += 1
        if currency:
            self.amount[currency] += amount
        if len(self.items) < self.limit:
            self.items.append(item)

    def dump(self) -> dict[str, Any]:
        return {"count": self.count, "amount": dict(self.amount), "items": self.items,
                "truncated": self.count > len(self.items)}


def _tx_item(tx: dict[str, Any]) -> dict[str, Any]:
    return {"id": tx["id"], "type": tx["type"], "amount": tx["amount"], "currency": tx["currency"],
            "created": tx["created"], "customer": tx.get("customer"), "charge": tx.get("charge"),
            "payment_intent": tx.get("payment_intent")}


class Matcher:
    """Feed it transactions with `add`, payouts with `add_payout`, then read `report()`.

    `customers`: when not None, only transactions whose customer is in the set
    belong to this tenant (a shared platform account); refunds follow their
    charge. None means every transaction is the tenant's (its own connected account).
    """

    def __init__(self, invoices: Iterable[InvoiceRef], *, window: int = 3 * 86400,
                 list_limit: int = 100, customers: set[str] | None = None) -> None:
        self.window = window
        self.list_limit = list_limit
        self.customers = customers
        self.invoices: dict[str, InvoiceRef] = {}
        self._by_ref: dict[str, InvoiceRef] = {}
        # customer -> amount -> invoices (nested, so a lookup allocates no tuple key)
        self._by_key: dict[str, dict[int, list[InvoiceRef]]] = {}
        by_ref, by_key, all_ = self._by_ref, self._by_key, self.invoices
        for inv in invoices:
            all_[inv.id] = by_ref[inv.id] = inv
            if inv.stripe_invoice_id:
                by_ref[inv.stripe_invoice_id] = inv
            if inv.payment_intent_id:
                by_ref[inv.payment_intent_id] = inv
            if inv.charge_id:
                by_ref[inv.charge_id] = inv
            if inv.customer:
                by_key.setdefault(inv.customer, {}).setdefault(inv.amount, []).append(inv)
        # Charges matched by amount/date have no id on the invoice: refunds find them here.
        self._charge_invoice: dict[str, InvoiceRef] = {}
        # Refunds seen before their (older) charge; resolved when it comes, or at the end.
        self._pending_refunds: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.totals: dict[str, dict[str, int]] = {}
        self.transactions = 0
        self.skipped = 0
        self.matched_by_id = 0
        self.matched_by_amount_date = 0
        self.unmatched = BoundedList(list_limit)
        self.currency_mismatches = BoundedList(list_limit)
        self.failed_payouts = BoundedList(list_limit)
        self._payout_count = 0
        self._payout_amount: dict[str, int] = defaultdict(int)
        self._payout_status: dict[str, int] = defaultdict(int)

    # --- feeding -------------------------------------------------------------

    def _total(self, currency: str) -> dict[str, int]:
        found = self.totals.get(currency)
        if found is None:
            found = self.totals[currency] = {"gross": 0, "fees": 0, "refunds": 0, "net": 0,
                                             "paid_out": 0, "other": 0, "transactions": 0}
        return found

    def add(self, tx: dict[str, Any]) -> None:
        """Account for one balance transaction."""
        self.feed((tx,))

    def feed(self, rows: Iterable[dict[str, Any]]) -> int:
        """Account for a stream of balance transactions; returns how many were read.

        The hot path (a payment of the tenant's) is inlined with its lookups bound
        to locals: it runs once per transaction of the period. Everything rarer
        goes through `_add_other`.
        """
        refs_get, key_get = self._by_ref.get, self._by_key.get
        customers, totals, pending = self.customers, self.totals, self._pending_refunds
        unmatched, charge_invoice = self.unmatched, self._charge_invoice
        read = payments = by_id = by_amount_date = 0
        try:
            for tx in rows:
                read += 1
                if tx["type"] not in PAYMENT_TYPES or (
                        customers is not None and tx["customer"] not in customers):
                    self._add_other(tx)
                    continue
                payments += 1
                currency, amount, charge = tx["currency"], tx["amount"], tx["charge"]
                total = totals.get(currency) or self._total(currency)
                total["transactions"] += 1
                total["fees"] += tx["fee"]
                total["net"] += tx["net"]
                total["gross"] += amount
                inv = (refs_get(charge) or refs_get(tx["payment_intent"]) or refs_get(tx["invoice"])
                       or refs_get(tx["hub_invoice_id"]))
                matched_by_id = inv is not None
                if inv is None and tx["customer"]:
                    amounts = key_get(tx["customer"])
                    if amounts is not None:
                        inv = self._by_amount_date(amounts.get(amount), currency, tx["created"])
                if inv is None:
                    unmatched.add(_tx_item(tx), amount, currency)
                elif currency != inv.currency:
                    self._currency_mismatch(tx, inv)
                    inv = None
                else:
                    if matched_by_id:
                        by_id += 1
                    else:
                        by_amount_date += 1
                        if charge:
                            charge_invoice[charge] = inv
                    inv.received += amount
                    inv.payments += 1
                    if inv.first_tx is None:
                        inv.first_tx = tx["id"]
                    else:
                        inv.note(tx["id"])
                if pending and charge and charge in pending:
                    self._settle_refunds(pending.pop(charge), inv)
        finally:
            self.transactions += payments
            self.matched_by_id += by_id
            self.matched_by_amount_date += by_amount_date
        return read

    def _add_other(self, tx: dict[str, Any]) -> None:
        """Refunds, fees, payouts, adjustments, and other tenants' money."""
        if tx["type"] in REFUND_TYPES:
            inv = self._invoice_for_refund(tx)
            if inv is None:
                # Its charge is probably further down the stream (newest first): decide then.
                self._pending_refunds[tx["charge"] or ""].append(tx)
            else:
                self._count(tx)
                self._apply_refund(tx, inv)
        elif self.customers is not None and tx["customer"] not in self.customers:
            self.skipped += 1  # another tenant's money, or the platform's own
        else:
            self._count(tx)

    def _settle_refunds(self, refunds: list[dict[str, Any]], inv: InvoiceRef | None) -> None:
        """Refunds that waited for their charge, which just came (matched to `inv`, or not)."""
        for refund in refunds:
            self._count(refund)
            if inv is not None:
                self._apply_refund(refund, inv)
            else:
                self.unmatched.add(_tx_item(refund), refund["amount"], refund["currency"])

    def _currency_mismatch(self, tx: dict[str, Any], inv: InvoiceRef) -> None:
        inv.currency_mismatch = True
        self.currency_mismatches.add(
            {"transaction": _tx_item(tx), "invoice": inv.summary(), "invoice_currency": inv.currency,
             "currency": tx["currency"]}, tx["amount"], tx["currency"])

    def _count(self, tx: dict[str, Any]) -> None:
        self.transactions += 1
        kind = tx["type"]
        total = self._total(tx["currency"])
        total["transactions"] += 1
        total["fees"] += tx["fee"]
        if kind in PAYOUT_TYPES:
            total["paid_out"] -= tx["amount"]
            return
        total["net"] += tx["net"]
        if kind in PAYMENT_TYPES:
            total["gross"] += tx["amount"]
        elif kind in REFUND_TYPES:
            total["refunds"] -= tx["amount"]
        elif tx.get("reporting_category") == "fee" or kind in ("stripe_fee", "application_fee"):
            total["fees"] -= tx["amount"]
        else:
            total["other"] += tx["amount"]

    def _by_ids(self, tx: dict[str, Any]) -> InvoiceRef | None:
        refs = self._by_ref
        return (refs.get(tx["charge"]) or refs.get(tx["payment_intent"]) or refs.get(tx["invoice"])
                or refs.get(tx["hub_invoice_id"]))

    def _by_amount_date(self, candidates: list[InvoiceRef] | None, currency: str,
                        created: int) -> InvoiceRef | None:
        """Of the invoices with this customer, amount and currency: the unpaid one due
        closest to the payment, within the window; else the closest paid one (a duplicate)."""
        if not candidates:
            return None
        best: InvoiceRef | None = None
        best_key = 0
        for inv in candidates:
            distance = abs(inv.due - created)
            if distance > self.window or inv.currency != currency:
                continue
            key = distance + (PAID_PENALTY if inv.payments else 0)  # unpaid ones first
            if best is None or key < best_key:
                best, best_key = inv, key
        return best

    def _invoice_for_refund(self, tx: dict[str, Any]) -> InvoiceRef | None:
        charge = tx["charge"]
        inv = self._charge_invoice.get(charge) if charge else None
        return inv or self._by_ids(tx)

    def _apply_refund(self, tx: dict[str, Any], inv: InvoiceRef) -> None:
        if tx["currency"] == inv.currency:
            inv.refunded -= tx["amount"]
            inv.note(tx["id"])

    def add_payout(self, payout: dict[str, Any]) -> None:
        """Account for one payout of the period (listed for information and failures)."""
        self._payout_status[payout["status"] or "unknown"] += 1
        self._payout_count += 1
        self._payout_amount[payout["currency"]] += payout["amount"]
        if payout["status"] in ("failed", "canceled"):
            self.failed_payouts.add(payout, payout["amount"], payout["currency"])

    # --- the result ------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """The reconciliation report (JSON-ready)."""
        for refunds in self._pending_refunds.values():
            for refund in refunds:
                if self.customers is None:  # the account is the tenant's: still its money
                    self._count(refund)
                    self.unmatched.add(_tx_item(refund), refund["amount"], refund["currency"])
                else:
                    self.skipped += 1  # a refund of a charge that is not the tenant's
        self._pending_refunds.clear()
        matched = BoundedList(0)
        partly, unpaid = BoundedList(self.list_limit), BoundedList(self.list_limit)
        over, duplicates = BoundedList(self.list_limit), BoundedList(self.list_limit)
        for inv in self.invoices.values():
            net = inv.net
            if inv.payments == 0:
                if inv.currency_mismatch:
                    continue  # listed with the currency mismatches
                if inv.in_period and inv.status in ("open", "partially_paid") and inv.refunded == 0:
                    unpaid.add(inv.summary(), inv.amount, inv.currency)
                elif inv.refunded and net < inv.amount:
                    partly.add(inv.summary(), inv.amount - max(net, 0), inv.currency)
                continue
            if net > inv.amount:
                target = duplicates if inv.payments > 1 else over
                target.add(inv.summary(), net - inv.amount, inv.currency)
            elif net == inv.amount:
                matched.add({}, net, inv.currency)
            else:
                partly.add(inv.summary(), inv.amount - max(net, 0), inv.currency)
        return {
            "totals": self.totals,
            "transactions": self.transactions,
            "skipped": self.skipped,
            "matched": {"count": matched.count, "amount": dict(matched.amount),
                        "payments_by_id": self.matched_by_id,
                        "payments_by_amount_date": self.matched_by_amount_date},
            "unmatched": self.unmatched.dump(),
            "unpaid": unpaid.dump(),
            "partly_paid": partly.dump(),
            "amount_mismatches": over.dump(),
            "currency_mismatches": self.currency_mismatches.dump(),
            "duplicates": duplicates.dump(),
            "payouts": {"count": self._payout_count, "amount": dict(self._payout_amount),
                        "by_status": dict(self._payout_status), "failed": self.failed_payouts.dump()},
        }
