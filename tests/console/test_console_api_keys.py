"""The API keys screen in a real browser (Debian's Chromium via Playwright) against a real
hub: a key is shown once with a Copy button, works as X-API-Key, and stops when revoked."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

KEYS_POST = re.compile(r"/api/v1/api-keys$")


def test_create_copy_once_and_revoke_a_key(page, log_in, hub_user, hub_url, screenshot_dir):
    owner = hub_user()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(owner)
    page.get_by_role("link", name="API keys", exact=True).click()
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()

    # By keyboard: name, role, Enter.
    page.get_by_label("Name").fill("Billing export")
    page.get_by_label("Role").select_option("member")
    with page.expect_response(lambda r: r.request.method == "POST" and KEYS_POST.search(r.url)) as info:
        page.get_by_label("Name").press("Enter")
    assert info.value.status == 201, info.value.text()
    created = info.value.json()["data"]
    secret = created["key"]
    box = page.get_by_role("region", name="New API key")
    expect(box).to_be_focused()
    expect(box.locator(".secret-value")).to_have_text(secret)
    box.get_by_role("button", name="Copy").click()
    expect(box.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    row = page.locator(f'tr[data-key-id="{created["id"]}"]')
    expect(row.locator(".key-name")).to_have_text("Billing export")
    expect(row).to_contain_text(created["prefix"])
    page.screenshot(path=str(screenshot_dir / "api-keys-secret-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "api-keys-secret-360px.png"), full_page=True)

    # Once: dismissed, focus back on the form, and the secret is nowhere in the page.
    box.get_by_role("button", name="I have copied it").click()
    expect(page.locator(".secret-value")).to_have_count(0)
    expect(page.get_by_label("Name")).to_be_focused()
    assert secret not in page.content()

    key_headers = {"X-API-Key": secret}
    assert requests.get(f"{hub_url}/api/v1/jobs", headers=key_headers, timeout=10).status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke Billing export").click()
    expect(page.locator("#notice")).to_have_text("API key revoked.")
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    assert requests.get(f"{hub_url}/api/v1/jobs", headers=key_headers, timeout=10).status_code == 401


def test_dismissing_the_revoke_question_keeps_the_key(page, log_in, hub_user, hub_url):
    owner = hub_user()
    resp = requests.post(f"{hub_url}/api/v1/api-keys", headers=owner.headers, timeout=10,
                         json={"name": "Kept"})
    assert resp.status_code == 201, resp.text
    log_in(owner)
    page.goto("/console#/api-keys")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke Kept").click()
    expect(page.get_by_text("1 key")).to_be_visible()
    assert requests.get(f"{hub_url}/api/v1/jobs", headers={"X-API-Key": resp.json()["data"]["key"]},
                        timeout=10).status_code == 200
