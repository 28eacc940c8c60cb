"""The users screen in a real browser (Debian's Chromium via Playwright) against a real
hub: an owner adds, changes and removes people of the tenant; members never see it."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

USERS_POST = re.compile(r"/api/v1/users$")
USER_PATCH = re.compile(r"/api/v1/users/[0-9a-f-]{36}$")


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_owner_adds_edits_and_deletes_a_user(page, log_in, hub_user, hub_url, screenshot_dir):
    owner = hub_user()
    log_in(owner)
    page.get_by_role("link", name="Users", exact=True).click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    me = page.locator(f'tr[data-user-id="{owner.data["user"]["id"]}"]')
    expect(me.locator(".user-name")).to_have_text("Casey Console (you)")
    expect(me.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
    expect(page.get_by_text("1 user · page 1 of 1")).to_be_visible()

    # Too short a password: the hub's message beside the field it is about.
    form = page.locator(".user-form")
    form.get_by_label("Email").fill("morgan@example.com")
    form.get_by_label("Name").fill("Morgan Member")
    form.get_by_label("Password").fill("short")
    with page.expect_response(lambda r: r.request.method == "POST" and USERS_POST.search(r.url)) as info:
        form.get_by_role("button", name="Add user").click()
    assert info.value.status == 422
    expect(form.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(form.locator('[data-field="password"] .field-error')).to_have_text(
        " ".join(info.value.json()["details"]["fields"]["json"]["password"]))

    # By keyboard: Enter in the password field adds the user.
    form.get_by_label("Password").fill("a long enough password")
    with page.expect_response(lambda r: r.request.method == "POST" and USERS_POST.search(r.url)) as info:
        form.get_by_label("Password").press("Enter")
    assert info.value.status == 201, info.value.text()
    morgan = info.value.json()["data"]
    expect(page.locator("#notice")).to_have_text("User created.")
    row = page.locator(f'tr[data-user-id="{morgan["id"]}"]')
    expect(row.locator(".user-role")).to_have_text("member")
    expect(row.locator(".user-state")).to_have_text("active")
    expect(form.get_by_label("Email")).to_have_value("")

    # Edit: make Morgan an admin and inactive; only what changed is sent.
    row.get_by_role("button", name="Edit Morgan Member").click()
    edit = page.get_by_role("form", name="Edit Morgan Member")
    expect(edit.get_by_label("Name")).to_be_focused()
    edit.get_by_label("Role").select_option("admin")
    edit.get_by_label("Active (may log in)").uncheck()
    page.screenshot(path=str(screenshot_dir / "users-edit-desktop.png"), full_page=True)
    with page.expect_response(lambda r: r.request.method == "PATCH" and USER_PATCH.search(r.url)) as info:
        edit.get_by_role("button", name="Save").click()
    assert info.value.status == 200, info.value.text()
    assert info.value.request.post_data_json == {"role": "admin", "is_active": False}
    expect(edit).to_have_count(0)
    expect(row.locator(".user-role")).to_have_text("admin")
    expect(row.locator(".user-state")).to_have_text("inactive")
    expect(row.get_by_role("button", name="Edit Morgan Member")).to_be_focused()
    stored = requests.get(f"{hub_url}/api/v1/users/{morgan['id']}", headers=owner.headers, timeout=10).json()
    assert (stored["data"]["role"], stored["data"]["is_active"]) == ("admin", False)

    page.set_viewport_size({"width": 360, "height": 740})
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshot_dir / "users-360px.png"), full_page=True)

    # Delete, after saying yes.
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete Morgan Member").click()
    expect(page.locator("#notice")).to_have_text("User deleted.")
    expect(row).to_have_count(0)
    expect(page.get_by_text("1 user · page 1 of 1")).to_be_visible()


def test_the_last_owner_cannot_be_demoted_and_members_see_no_users_screen(page, log_in, hub_user, hub_url):
    owner = hub_user()
    member = owner.add_member()

    log_in(owner)
    page.goto("/console#/users")
    page.get_by_role("button", name="Edit Casey Console").click()
    edit = page.get_by_role("form", name="Edit Casey Console")
    edit.get_by_label("Role").select_option("member")
    with page.expect_response(lambda r: r.request.method == "PATCH" and USER_PATCH.search(r.url)) as info:
        edit.get_by_role("button", name="Save").click()
    assert info.value.status == 409
    expect(edit.get_by_role("alert")).to_contain_text(info.value.json()["message"])
    edit.get_by_role("button", name="Cancel").click()
    expect(edit).to_have_count(0)
    page.get_by_role("button", name="Log out").click()

    log_in(member)
    expect(page.locator("#nav-links").get_by_role("link", name="Users")).to_have_count(0)
    page.goto("/console#/users")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
