"""The audit log screen in a real browser (Debian's Chromium via Playwright) against a real
hub: what the tenant's people did, newest first, filtered and paged as the API offers."""
from __future__ import annotations

import json
import re

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

AUDIT_GET = re.compile(r"/api/v1/audit-events\?")


def test_audit_log_lists_filters_and_pages(page, log_in, hub_user, hub_url, screenshot_dir):
    owner = hub_user()
    for n in range(27):  # more than a page (25) of api_key.created
        resp = requests.post(f"{hub_url}/api/v1/api-keys", headers=owner.headers, timeout=10,
                             json={"name": f"key {n}"})
        assert resp.status_code == 201, resp.text
    log_in(owner)
    everything = requests.get(f"{hub_url}/api/v1/audit-events?per_page=100", headers=owner.headers,
                              timeout=10).json()
    page.get_by_role("link", name="Audit log", exact=True).click()
    expect(page.get_by_role("heading", name="Audit log", exact=True)).to_be_visible()
    total = everything["meta"]["pagination"]["total"]
    expect(page.get_by_text(f"{total} events · page 1 of 2")).to_be_visible()
    newest = everything["data"][0]
    first = page.locator("tr[data-audit-id]").first
    expect(first.locator(".audit-action")).to_have_text(newest["action"])
    expect(first).to_contain_text(newest["object_id"])
    created = next(e for e in everything["data"] if e["action"] == "api_key.created")
    row = page.locator(f'tr[data-audit-id="{created["id"]}"]')
    row.get_by_text("Details").click()
    details = json.dumps(created["details"], separators=(",", ":"))
    expect(row.locator(".audit-details code")).to_have_text(details)

    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text(f"{total} events · page 2 of 2")).to_be_visible()
    expect(page.locator("tr[data-audit-id]")).to_have_count(total - 25)

    # Filters are the API's: exact action, object type, object id; Enter applies them.
    page.get_by_label("Action").fill("user.login")
    with page.expect_response(lambda r: AUDIT_GET.search(r.url)) as info:
        page.get_by_label("Action").press("Enter")
    assert "action=user.login" in info.value.url and "page=1" in info.value.url
    logins = info.value.json()["data"]
    assert logins and {e["action"] for e in logins} == {"user.login"}
    expect(page.locator("tr[data-audit-id]")).to_have_count(len(logins))
    page.screenshot(path=str(screenshot_dir / "audit-desktop.png"), full_page=True)
    page.get_by_label("Action").fill("no.such.action")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No audit events match.")).to_be_visible()
    page.get_by_label("Action").fill("")
    page.get_by_label("Object type").fill("api_key")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("27 events · page 1 of 2")).to_be_visible()

    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "audit-360px.png"), full_page=True)


def test_members_have_no_audit_log(page, log_in, hub_user):
    log_in(hub_user().add_member())
    expect(page.locator("#nav-links").get_by_role("link", name="Audit log")).to_have_count(0)
    page.goto("/console#/audit")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
