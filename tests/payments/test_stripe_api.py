"""The Stripe adapter against the fake Stripe: paging, scoping, errors, retries, signatures."""
from __future__ import annotations

import time

import pytest
import stripe_data as sd

from hub.integrations import stripe_api
from tests.payments.conftest import WEBHOOK_SECRET, event_body, sign


def settings(fake, key: str | None = None, retries: int = 0) -> stripe_api.StripeSettings:
    return stripe_api.StripeSettings(api_key=key or fake.api_key, api_base=fake.url,
                                     max_network_retries=retries, timeout=10)


def fill(fake, n: int, start: int, account: str | None = None) -> list[str]:
    ids = []
    for i in range(n):
        ch = fake.put(sd.charge(sd.new_id("ch"), 100 + i, "eur", "cus_1", start + i * 60), account=account)
        bt = fake.put(sd.balance_transaction(sd.new_id("txn"), "charge", 100 + i, "eur", start + i * 60,
                                             ch["id"], fee=3), account=account)
        ids.append(bt["id"])
    return ids


def test_pages_through_a_period_newest_first_with_the_source_expanded(fake_stripe):
    start = 1_790_000_000
    ids = fill(fake_stripe, 250, start)
    pages: list[int] = []
    rows = list(stripe_api.iter_balance_transactions(
        settings(fake_stripe), start + 60 * 10, start + 60 * 240, page_size=100,
        on_page=lambda n, _created: pages.append(n)))
    assert [r["id"] for r in rows] == list(reversed(ids[10:240]))
    assert pages == [100, 200, 230]
    assert rows[0]["customer"] == "cus_1" and rows[0]["charge"].startswith("ch_")
    assert all("starting_after" in path for _m, path, _a in fake_stripe.requests[1:])


def test_auto_pagination_with_objects_gives_the_same_rows(fake_stripe):
    fill(fake_stripe, 130, 1_790_000_000)
    plain = list(stripe_api.iter_balance_transactions(settings(fake_stripe), 0, 2**31))
    objects = list(stripe_api.iter_balance_transactions(settings(fake_stripe), 0, 2**31, as_objects=True))
    assert plain == objects and len(plain) == 130


def test_connected_account_scopes_every_page(fake_stripe):
    fill(fake_stripe, 120, 1_790_000_000, account="acct_tenant")
    fill(fake_stripe, 5, 1_790_000_000)
    rows = list(stripe_api.iter_balance_transactions(settings(fake_stripe), 0, 2**31, account="acct_tenant"))
    assert len(rows) == 120
    assert {a for _m, _p, a in fake_stripe.requests} == {"acct_tenant"}


def test_a_bad_key_is_an_auth_error(fake_stripe):
    with pytest.raises(stripe_api.StripeAuthError) as err:
        list(stripe_api.iter_balance_transactions(settings(fake_stripe, key="sk_test_wrong"), 0, 10))
    assert "sk_test_wrong" not in err.value.message and err.value.status == 401


def test_rate_limit_carries_retry_after(fake_stripe):
    fake_stripe.fail_next(429, count=3, retry_after=7)
    with pytest.raises(stripe_api.StripeTemporaryError) as err:
        stripe_api.retrieve(settings(fake_stripe, retries=2), "charge", "ch_1")
    assert err.value.retry_after == 7.0 and err.value.status == 429


def test_server_errors_are_retried_by_the_library_then_temporary(fake_stripe):
    fill(fake_stripe, 3, 1_790_000_000)
    fake_stripe.fail_next(500, count=1)
    assert len(list(stripe_api.iter_balance_transactions(settings(fake_stripe, retries=1), 0, 2**31))) == 3
    assert fake_stripe.request_count == 2  # one 500, then the library's own retry
    fake_stripe.fail_next(503, count=5)
    with pytest.raises(stripe_api.StripeTemporaryError):
        list(stripe_api.iter_balance_transactions(settings(fake_stripe, retries=1), 0, 2**31))


def test_unknown_object_is_a_request_error(fake_stripe):
    with pytest.raises(stripe_api.StripeRequestError) as err:
        stripe_api.retrieve(settings(fake_stripe), "payout", "po_missing")
    assert err.value.status == 404 and err.value.code == "resource_missing"


def test_verify_webhook_accepts_stripes_signature_and_nothing_else():
    body = event_body("charge.succeeded", {"id": "ch_1", "object": "charge"})
    event = stripe_api.verify_webhook(body, sign(body), WEBHOOK_SECRET)
    assert event["type"] == "charge.succeeded"
    # Several signatures (Stripe rolls secrets): one valid is enough.
    t = int(time.time())
    header = f"t={t},v1={'0' * 64},{sign(body, timestamp=t).split(',')[1]}"
    assert stripe_api.verify_webhook(body, header, WEBHOOK_SECRET)["id"] == event["id"]
    for bad in (sign(body, secret="whsec_other"), sign(body, timestamp=t - 400), None, "", "v1=abc"):
        with pytest.raises(stripe_api.SignatureError):
            stripe_api.verify_webhook(body, bad, WEBHOOK_SECRET)
    with pytest.raises(stripe_api.SignatureError):
        stripe_api.verify_webhook(b"\xff\xfe", sign(b"x"), WEBHOOK_SECRET)
