"""The operations screen (staff) in a real browser against a real hub: failures grouped by
cause, a group's jobs, and a bulk retry that shows its count before it acts."""
from __future__ import annotations

import uuid

import pytest
import requests
from playwright.sync_api import expect

from hub.extensions import db
from hub.models import Job, utcnow

pytestmark = pytest.mark.e2e


def test_staff_see_failures_by_cause_and_retry_a_group_after_its_count(
        app, page, log_in, hub_user, hub_url, screenshot_dir):
    customer, operator = hub_user(tenant="Customer Co"), hub_user(staff=True, tenant="Hub ops")
    ids = []
    for _ in range(3):
        resp = requests.post(f"{hub_url}/api/v1/jobs", headers=customer.headers, timeout=10,
                             json={"type": "demo.sleep", "payload": {"seconds": 0}})
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["data"]["id"])
    with app.app_context():
        for n, job_id in enumerate(ids):
            job = db.session.get(Job, uuid.UUID(job_id))
            job.status, job.finished_at, job.dispatched_at = "failed", utcnow(), None
            job.error = {"code": "SMTP_REJECTED" if n < 2 else "OTHER", "message": "no"}
        db.session.commit()

    log_in(operator)
    page.get_by_role("link", name="Operations", exact=True).click()
    expect(page.get_by_role("heading", name="Operations", exact=True)).to_be_visible()
    group = page.locator('tr[data-ops-group="demo.sleep SMTP_REJECTED"]')
    expect(group.locator(".ops-count")).to_have_text("2")
    group.get_by_role("button", name="Show demo.sleep jobs failed with SMTP_REJECTED").click()
    expect(page.locator("tr[data-ops-job-id]")).to_have_count(2)

    page.get_by_role("button", name="Retry… the jobs the filter matches").click()
    expect(page.get_by_text("2 jobs would be retried.")).to_be_visible()
    assert customer.job(ids[0])["status"] == "failed"  # nothing changed on the dry run
    page.screenshot(path=str(screenshot_dir / "operations-desktop.png"), full_page=True)
    page.get_by_role("button", name="Retry 2 jobs now").click()
    expect(page.get_by_text("2 jobs retried.")).to_be_visible()
    # The two retried are queued again (the stack's worker may already have run them);
    # the one with another cause is untouched.
    statuses = [customer.job(j)["status"] for j in ids]
    assert statuses[0] in ("queued", "running", "succeeded") and statuses[1] in ("queued", "running",
                                                                                "succeeded"), statuses
    assert statuses[2] == "failed"
    expect(page.locator('tr[data-ops-group="demo.sleep SMTP_REJECTED"]')).to_have_count(0)

    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "operations-360px.png"), full_page=True)


def test_the_operations_screen_is_for_staff_only(page, log_in, hub_user):
    log_in(hub_user())
    expect(page.locator("#nav-links").get_by_role("link", name="Operations")).to_have_count(0)
    page.goto("/console#/operations")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
