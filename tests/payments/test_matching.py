"""The matching core alone: ids first, then customer + amount + date; refunds; bounded lists."""
from __future__ import annotations

from hub.services.payments.matching import InvoiceRef, Matcher

DAY = 86400
T0 = 1_790_000_000


def inv(n: int, amount: int = 1000, customer: str = "cus_1", **kw) -> InvoiceRef:
    return InvoiceRef(id=f"inv-{n}", number=f"N-{n}", amount=amount, currency=kw.pop("currency", "eur"),
                      due=kw.pop("due", T0), customer=customer, **kw)


def tx(tid: str, amount: int, *, type_: str = "charge", customer: str | None = "cus_1", created: int = T0,
       currency: str = "eur", charge: str | None = None, pi: str | None = None, fee: int = 0) -> dict:
    return {"id": tid, "type": type_, "amount": amount, "fee": fee, "net": amount - fee,
            "currency": currency, "created": created, "status": "available",
            "reporting_category": None, "source": charge, "charge": charge, "payment_intent": pi,
            "invoice": None, "customer": customer, "hub_invoice_id": None}


def numbers(report: dict, kind: str) -> set[str]:
    return {item["number"] for item in report[kind]["items"]}


def test_ids_win_over_amount_and_date():
    m = Matcher([inv(1, payment_intent_id="pi_1"), inv(2)])
    m.add(tx("t1", 1000, pi="pi_1", charge="ch_1"))
    m.add(tx("t2", 1000, charge="ch_2"))  # by amount/date: the invoice still unpaid is N-2
    r = m.report()
    assert r["matched"]["count"] == 2
    assert (r["matched"]["payments_by_id"], r["matched"]["payments_by_amount_date"]) == (1, 1)
    assert r["unmatched"]["count"] == 0


def test_amount_and_date_need_the_window_and_the_customer():
    m = Matcher([inv(1, due=T0)], window=3 * DAY)
    m.add(tx("late", 1000, created=T0 + 4 * DAY, charge="ch_a"))
    m.add(tx("stranger", 1000, customer="cus_2", charge="ch_b"))
    r = m.report()
    assert {i["id"] for i in r["unmatched"]["items"]} == {"late", "stranger"}
    assert numbers(r, "unpaid") == {"N-1"}


def test_refund_before_its_charge_in_the_stream_makes_a_partly_paid_invoice():
    m = Matcher([inv(1)])
    m.add(tx("r1", -300, type_="refund", charge="ch_1", customer=None, created=T0 + DAY))
    m.add(tx("t1", 1000, charge="ch_1"))
    r = m.report()
    assert numbers(r, "partly_paid") == {"N-1"}
    assert r["partly_paid"]["items"][0]["outstanding"] == 300
    assert r["totals"]["eur"]["refunds"] == 300 and r["totals"]["eur"]["gross"] == 1000


def test_each_kind_of_mismatch_lands_in_one_list():
    invoices = [inv(1, payment_intent_id="pi_over"), inv(2, payment_intent_id="pi_cur"),
                inv(3, payment_intent_id="pi_dup"), inv(4), inv(5, payment_intent_id="pi_short")]
    m = Matcher(invoices)
    m.add(tx("over", 1500, pi="pi_over"))
    m.add(tx("cur", 1000, pi="pi_cur", currency="usd"))
    m.add(tx("dup1", 1000, pi="pi_dup", customer="cus_9"))
    m.add(tx("dup2", 1000, pi="pi_dup", customer="cus_9"))
    m.add(tx("short", 600, pi="pi_short"))
    r = m.report()
    assert numbers(r, "amount_mismatches") == {"N-1"}
    assert {i["invoice"]["number"] for i in r["currency_mismatches"]["items"]} == {"N-2"}
    assert numbers(r, "duplicates") == {"N-3"}
    assert numbers(r, "unpaid") == {"N-4"}
    assert numbers(r, "partly_paid") == {"N-5"}
    assert r["matched"]["count"] == 0


def test_lists_are_bounded_but_counts_and_amounts_are_complete():
    m = Matcher([], list_limit=3)
    for i in range(50):
        m.add(tx(f"t{i}", 100 + i, charge=f"ch_{i}"))
    r = m.report()["unmatched"]
    assert r["count"] == 50 and len(r["items"]) == 3 and r["truncated"] is True
    assert r["amount"] == {"eur": sum(100 + i for i in range(50))}


def test_on_a_shared_account_only_the_tenants_customers_count():
    m = Matcher([inv(1)], customers={"cus_1"})
    m.add(tx("mine", 1000, charge="ch_1"))
    m.add(tx("theirs", 999, customer="cus_other", charge="ch_2"))
    m.add(tx("their-refund", -999, type_="refund", customer=None, charge="ch_2"))
    m.add(tx("platform-fee", -500, type_="stripe_fee", customer=None))
    m.add(tx("my-dispute", -200, type_="adjustment", charge="ch_1"))
    r = m.report()
    assert r["matched"]["count"] == 1 and r["unmatched"]["count"] == 0
    assert r["skipped"] == 3 and r["totals"]["eur"]["gross"] == 1000
    assert r["totals"]["eur"]["other"] == -200 and r["transactions"] == 2
    assert r["totals"]["eur"]["refunds"] == 0


def test_totals_cover_fees_refunds_and_payouts():
    m = Matcher([])
    m.add(tx("c", 1000, fee=59, charge="ch_1"))
    m.add(tx("f", -100, type_="stripe_fee", customer=None))
    m.add(tx("p", -700, type_="payout", customer=None))
    m.add_payout({"id": "po_1", "amount": 700, "currency": "eur", "status": "paid"})
    m.add_payout({"id": "po_2", "amount": 50, "currency": "eur", "status": "failed"})
    r = m.report()
    assert r["totals"]["eur"] == {"gross": 1000, "fees": 159, "refunds": 0, "net": 841, "paid_out": 700,
                                  "other": 0, "transactions": 3}
    assert r["payouts"]["by_status"] == {"paid": 1, "failed": 1}
    assert [p["id"] for p in r["payouts"]["failed"]["items"]] == ["po_2"]
