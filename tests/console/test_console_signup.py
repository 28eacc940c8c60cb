"""The sign-up screen in a real browser (Debian's Chromium via Playwright) against a real
hub: from the login screen's link to a new organisation's console, by keyboard."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.support.helpers import PASSWORD

pytestmark = pytest.mark.e2e

REGISTER = re.compile(r"/api/v1/auth/register$")


def register(page):
    return page.expect_response(lambda r: r.request.method == "POST" and REGISTER.search(r.url))


def test_sign_up_from_the_login_screen_lands_in_the_new_console(page, hub_user, screenshot_dir):
    taken = hub_user()
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/console")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    # The login screen's links: the account screens, sign-up among them.
    links = page.locator(".login-links a")
    expect(links).to_have_text(["Forgot password?", "Create one"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "login-links-360px.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("link", name="Create one").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    expect(page).to_have_url(re.compile("#/signup$"))
    page.screenshot(path=str(screenshot_dir / "signup-desktop.png"), full_page=True)

    page.get_by_label("Organisation").fill("Sign-up Co")
    page.get_by_label("Your name").fill("Sam Signup")
    page.get_by_label("Email").fill(taken.email)
    page.get_by_label("Password").fill("short")
    with register(page) as info:
        page.get_by_role("button", name="Create account").click()
    assert info.value.status == 422
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Password")).to_be_focused()

    # A taken address: the hub's message on top of the form.
    page.get_by_label("Password").fill(PASSWORD)
    with register(page) as info:
        page.get_by_label("Password").press("Enter")
    assert info.value.status == 409
    expect(page.get_by_role("alert")).to_contain_text(info.value.json()["message"])
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "signup-360px.png"), full_page=True)

    logins: list[str] = []
    page.on("request", lambda r: logins.append(r.url) if r.method == "POST" else None)
    email = f"signup-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Email").fill(email)
    with register(page) as info:
        page.get_by_label("Password").press("Enter")
    assert info.value.status == 201, info.value.text()
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    expect(page.locator("#account-name")).to_have_text("Sam Signup · Sign-up Co")
    # The owner of the new tenant manages it.
    expect(page.locator("#nav-links").get_by_role("link", name="Users")).to_be_visible()

    # The registration's own tokens are the session: no second login.
    assert not [r for r in logins if r.endswith("/api/v1/auth/login")]
    page.get_by_role("link", name="Users", exact=True).click()
    expect(page.locator("tr[data-user-id]")).to_have_count(1)
