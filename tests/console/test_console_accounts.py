"""Account screens in Chromium: forgot password, the mailed links (new password, confirm
the address, accept an invitation), and the admins' invitations screen.

A mailed link is read from the mail the hub queued (the `email.send` job), which is
what the recipient would click."""
from __future__ import annotations

import re
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.console.conftest import mailed_link

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "lanterns over the quiet harbour"


def at_both_widths(page, screenshot_dir, name: str) -> None:
    page.screenshot(path=str(screenshot_dir / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(screenshot_dir / f"{name}-360px.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1280, "height": 800})


def test_forgot_password_then_a_new_password_from_the_mailed_link(
        app, page, log_in, hub_user, screenshot_dir):
    user = hub_user()
    page.goto("/console")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", name="Forgot password")).to_be_visible()
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Email").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("If an account uses that address")

    page.goto("/console" + mailed_link(app, "password_reset", user.email, "reset_url"))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label(re.compile(r"^New password")).fill("password123")
    page.get_by_role("button", name="Set the password").click()
    expect(page.locator("[data-field=password] .field-error")).to_contain_text("Too easy to guess")
    page.get_by_label(re.compile(r"^New password")).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("status")).to_contain_text("Password changed")
    at_both_widths(page, screenshot_dir, "password-reset-done")

    page.get_by_role("link", name="Go to the login").click()
    user.password = NEW_PASSWORD
    log_in(user)
    # The link worked once.
    page.goto("/console" + mailed_link(app, "password_reset", user.email, "reset_url"))
    page.get_by_label(re.compile(r"^New password")).fill("another " + NEW_PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("alert")).to_contain_text("already used")


def test_the_confirmation_link_logs_the_new_account_in(app, page, hub_user, hub_url):
    user = hub_user()
    resent = requests.post(hub_url + "/api/v1/auth/verify-email/resend", timeout=10,
                           json={"email": user.email})
    assert resent.status_code == 202
    page.goto("/console#/verify-email?token=not-a-real-token")
    expect(page.get_by_role("alert")).to_contain_text("ask for a new one")
    expect(page.get_by_role("button", name="Send a new link")).to_be_visible()
    page.goto("/console" + mailed_link(app, "email_verification", user.email, "verify_url"))
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    expect(page.locator("#account-name")).to_contain_text("Casey Console")


def test_an_admin_invites_and_the_invitee_joins_from_the_link(
        app, page, log_in, hub_user, screenshot_dir):
    owner = hub_user(tenant="Inviting Co")
    log_in(owner)
    page.get_by_role("link", name="Invitations").click()
    expect(page.get_by_role("heading", name="Invitations")).to_be_visible()
    expect(page.get_by_text("No pending invitations.")).to_be_visible()
    invitee, other = (f"{n}-{uuid.uuid4().hex[:8]}@example.com" for n in ("ivy", "oscar"))
    for email, role in ((invitee, "admin"), (other, "member")):
        page.get_by_label("Email").fill(email)
        page.get_by_label("Role").select_option(role)
        page.get_by_role("button", name="Send invitation").click()
        expect(page.locator("tr", has_text=email)).to_be_visible()
    expect(page.locator("tr", has_text=invitee)).to_contain_text("admin")
    at_both_widths(page, screenshot_dir, "invitations")
    page.get_by_role("button", name=f"Revoke the invitation of {other}").click()
    expect(page.locator("tr", has_text=other)).to_have_count(0)

    page.locator("#logout").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto("/console" + mailed_link(app, "invitation", invitee, "accept_url"))
    expect(page.get_by_role("heading", name="Join your team")).to_be_visible()
    page.get_by_label("Your name").fill("Ivy Invitee")
    page.get_by_label(re.compile(r"^Password")).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    expect(page.locator("#account-name")).to_have_text(re.compile(r"Ivy Invitee · Inviting Co"))
    expect(page.get_by_role("link", name="Invitations")).to_be_visible()  # joined as an admin
    # The revoked invitation's link does not work.
    page.locator("#logout").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto("/console" + mailed_link(app, "invitation", other, "accept_url"))
    page.get_by_label("Your name").fill("Oscar")
    page.get_by_label(re.compile(r"^Password")).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("alert")).to_contain_text("ask for a new one")
