"""The reconciliations screen in a real browser (Debian's Chromium via Playwright) against a
real hub under gunicorn and a real Celery worker, with Stripe played by the payments tests'
fake server (tests/payments/fake_stripe.py) on loopback, filled with a generated month
whose mismatches are planted (tests/payments/stripe_data.py)."""
from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
import requests
import stripe_data as sd
from fake_stripe import FakeStripe
from playwright.sync_api import expect

from tests.console.conftest import FLOWER_URL

pytestmark = pytest.mark.e2e

ACCOUNT = "acct_1ConsoleTenant01"
PAID, PLANTED = 12, 1
RECS_POST = re.compile(r"/api/v1/payments/reconciliations$")


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture(scope="module")
def console_config(base_config: dict[str, Any], fake_stripe: FakeStripe) -> dict[str, Any]:
    """This module's hub and worker call the fake Stripe."""
    return {**base_config, "FLOWER_URL": FLOWER_URL, "STRIPE_API_KEY": fake_stripe.api_key,
            "STRIPE_API_BASE": fake_stripe.url, "STRIPE_MAX_NETWORK_RETRIES": 1}


def plant_month(user, staff, fake: FakeStripe) -> sd.Month:
    """October 2026 of the tenant's Stripe account (linked by hub staff, as only they may),
    and its invoices created through the API."""
    api = f"{user.base}/api/v1"
    resp = requests.post(f"{api}/payments/stripe-links?tenant_id={user.data['user']['tenant_id']}",
                         headers=staff.headers, timeout=10, json={"kind": "account", "stripe_id": ACCOUNT})
    assert resp.status_code == 201, resp.text
    customers = [sd.new_id("cus") for _ in range(4)]
    month = sd.generate_month(fake, customers, paid=PAID, planted=PLANTED, account=ACCOUNT)
    for inv in month.invoices:
        body = {"number": inv.number, "customer_ref": inv.customer_ref, "amount": inv.amount,
                "currency": inv.currency, "due_date": inv.due_date.isoformat(),
                "stripe_customer_id": inv.stripe_customer_id,
                "stripe_payment_intent_id": inv.stripe_payment_intent_id}
        resp = requests.post(f"{api}/invoices", headers=user.headers, json=body, timeout=10)
        assert resp.status_code == 201, resp.text
    return month


def euros(minor: int) -> str:
    """An amount as Chromium's en-US Intl formats EUR."""
    return f"{'-' if minor < 0 else ''}€{abs(minor) / 100:,.2f}"


def test_run_watch_and_read_the_report_with_its_chart(page, log_in, page_loads, open_screen, hub_user,
                                                      worker, fake_stripe, screenshot_dir):
    user = hub_user()
    month = plant_month(user, hub_user(staff=True, tenant="Hub operators"), fake_stripe)
    loads = page_loads
    log_in(user)
    open_screen("Reconciliations", "No reconciliations yet.")

    # A period that ends before it starts: the hub's field error sits beside "Last day".
    page.get_by_label("First day").fill("2026-10-31")
    page.get_by_label("Last day").fill("2026-10-01")
    with page.expect_response(lambda r: r.request.method == "POST" and RECS_POST.search(r.url)) as info:
        page.get_by_role("button", name="Run reconciliation").click()
    refused = info.value
    assert refused.status == 422
    to_error = page.locator('[data-field="to"] .field-error')
    expect(to_error).to_have_text(" ".join(refused.json()["details"]["fields"]["json"]["to"]))
    expect(page.get_by_label("Last day")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".rec-form .form-error")).to_contain_text(refused.json()["message"])

    # The whole month: the screen moves to the run and follows its job to the report.
    page.get_by_label("Last day").fill("2026-10-31")
    page.get_by_label("First day").fill("2026-10-01")
    with page.expect_response(lambda r: r.request.method == "POST" and RECS_POST.search(r.url)) as info:
        page.get_by_label("First day").press("Enter")  # the keyboard submits the form
    assert info.value.status == 202, info.value.text()
    rec_id = info.value.json()["data"]["reconciliation_id"]
    assert info.value.request.all_headers().get("idempotency-key")
    expect(page).to_have_url(re.compile(f"#/reconciliations/{rec_id}$"))
    expect(page.locator(".rec-status")).to_have_text("succeeded", timeout=60_000)
    progress = page.get_by_role("progressbar", name="Progress of the reconciliation")
    expect(progress).to_have_attribute("value", "100")
    expect(page.locator(".rec-period")).to_have_text("Oct 1, 2026 – Oct 31, 2026 (UTC)")

    resp = requests.get(f"{user.base}/api/v1/payments/reconciliations/{rec_id}", headers=user.headers,
                        timeout=10)
    report = resp.json()["data"]["report"]
    matched, unmatched = report["matched"]["amount"]["eur"], report["unmatched"]["amount"]["eur"]
    # The API's figures are the planted truth ...
    assert report["matched"]["count"] == PAID
    assert matched == sum(inv.amount for inv in month.invoices[:PAID])
    unmatched_tx = next(iter(month.expected["unmatched"]))
    assert unmatched == fake_stripe.get(unmatched_tx, ACCOUNT)["amount"] > 0
    # ... and the chart and its table show exactly those.
    chart = page.locator(".report-chart")
    expect(chart.get_by_role("img")).to_be_visible()
    bars = {kind: chart.locator(f'rect.bar-{kind}[data-currency="eur"]') for kind in ("matched", "unmatched")}
    assert int(bars["matched"].get_attribute("data-amount")) == matched
    assert int(bars["unmatched"].get_attribute("data-amount")) == unmatched
    # Bars of one currency share a scale: the larger fills the track.
    full = float(chart.locator("rect.bar-track").first.get_attribute("width"))
    widths = {kind: float(bar.get_attribute("width")) for kind, bar in bars.items()}
    assert widths["matched"] == full and abs(widths["unmatched"] - max(2, full * unmatched / matched)) <= 1
    row = chart.locator('.chart-table tr[data-currency="eur"]')
    expect(row.locator(".amount-matched")).to_have_text(euros(matched))
    expect(row.locator(".amount-unmatched")).to_have_text(euros(unmatched))
    title = chart.locator("svg title").text_content()
    assert f"matched {euros(matched)}" in title and f"unmatched {euros(unmatched)}" in title
    expect(chart.locator(".chart-counts")).to_have_text(
        f"{PAID} invoices paid in full; 1 transaction matched no invoice.")

    counts = page.locator(".report-counts")
    expect(counts.locator('dt:text-is("Transactions read") + dd')).to_have_text(str(report["transactions"]))
    expect(counts.locator('dt:text-is("Unpaid invoices") + dd')).to_have_text(str(report["unpaid"]["count"]))

    # The mismatches: each planted kind listed, with the invoices the hub named.
    for kind, planted in month.expected.items():
        section = page.locator(f'.mismatch-list[data-kind="{kind}"]')
        expect(section.locator("h3 .count")).to_have_text(f"({report[kind]['count']})")
        expect(section.locator("tbody tr")).to_have_count(len(planted))
        for name in planted:
            expect(section.locator("tbody th", has_text=name)).to_have_count(1)
    assert loads == [loads[0]], "the page reloaded"

    page.screenshot(path=str(screenshot_dir / "reconciliation-report-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "reconciliation-report-360px.png"), full_page=True)

    # The list: the run with its one-line result.
    page.get_by_role("link", name="← All reconciliations").click()
    listed = page.locator(f'tr[data-rec-id="{rec_id}"]')
    expect(listed.locator(".rec-status")).to_have_text("succeeded")
    expect(listed).to_contain_text(f"{PAID} matched · {sum(map(len, month.expected.values()))} to look at")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "reconciliations-360px.png"), full_page=True)
