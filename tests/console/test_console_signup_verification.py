"""Sign-up in Chromium on a hub with ACCOUNT_EMAIL_VERIFICATION on (production's default):
the same answer for a new and a taken address, no session until the mailed link is
followed, and then the new organisation's console."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import FLOWER_URL, mailed_link
from tests.support.helpers import PASSWORD

pytestmark = pytest.mark.e2e

REGISTER = re.compile(r"/api/v1/auth/register$")


@pytest.fixture(scope="module")
def console_config(base_config: dict[str, Any]) -> dict[str, Any]:
    """This module's hub asks new accounts to confirm their address."""
    return {**base_config, "FLOWER_URL": FLOWER_URL, "ACCOUNT_EMAIL_VERIFICATION": "true"}


def sign_up(page, email: str):
    page.goto("/console#/")
    page.get_by_role("link", name="Create one").click()
    page.get_by_label("Organisation").fill("Verified Co")
    page.get_by_label("Your name").fill("Vera Verified")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST" and REGISTER.search(r.url)) as info:
        page.get_by_label("Password").press("Enter")
    return info.value


def test_sign_up_waits_for_the_mailed_link_and_says_the_same_for_a_taken_address(
        app, page, hub_url, worker, screenshot_dir):
    email = f"verify-{uuid.uuid4().hex[:8]}@example.com"
    first = sign_up(page, email)
    assert first.status == 202, first.text()
    said = page.get_by_role("status").filter(has_text=first.json()["message"])
    expect(said).to_be_focused()
    expect(page.get_by_role("form")).to_have_count(0)
    expect(page.locator("#nav")).to_be_hidden()  # no session yet
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "signup-check-email-360px.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})

    again = sign_up(page, email)
    assert (again.status, again.json()["message"]) == (202, first.json()["message"])
    expect(page.get_by_role("status").filter(has_text=first.json()["message"])).to_be_visible()

    page.goto("/console" + mailed_link(app, "email_verification", email, "verify_url"))
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    expect(page.locator("#account-name")).to_have_text("Vera Verified · Verified Co")
