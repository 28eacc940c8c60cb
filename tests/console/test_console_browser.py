"""The console in a real browser (Debian's Chromium via Playwright) against a
real hub under gunicorn and a real Celery worker."""
from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.console.conftest import FLOWER_URL
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

REFRESH_KEY = "hub.console.refresh_token"
JOBS_POST = re.compile(r"/api/v1/jobs$")


def submit_job(page, seconds: Any) -> str:
    """Fill the demo.sleep form and queue it; the job id from the hub's 202."""
    page.get_by_label("Seconds").fill(str(seconds))
    with page.expect_response(lambda r: r.request.method == "POST" and JOBS_POST.search(r.url)) as info:
        page.get_by_role("button", name="Queue job").click()
    assert info.value.status == 202, info.value.text()
    return info.value.json()["data"]["id"]


def job_row(page, job_id: str):
    return page.locator(f'tr[data-job-id="{job_id}"]')


def stored_refresh_token(page) -> str | None:
    return page.evaluate(f"sessionStorage.getItem('{REFRESH_KEY}')")


def progress_of(page, job_id: str) -> int:
    return int(job_row(page, job_id).locator("progress").get_attribute("value"))


def test_wrong_password_shows_the_hubs_message(page, hub_user):
    user = hub_user()
    page.goto("/console")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid email or password.")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    # A field error sits beside its field, tied to it for screen readers.
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("x")
    page.get_by_role("button", name="Log in").click()
    email_error = page.locator('[data-field="email"] .field-error')
    expect(email_error).to_have_text("Not a valid email address.")
    email = page.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    assert email_error.get_attribute("id") in email.get_attribute("aria-describedby").split()
    assert stored_refresh_token(page) is None


def test_job_progress_and_success_arrive_live_without_reload(page, log_in, page_loads, hub_user, hub_url,
                                                             worker, screenshot_dir, capsys):
    user = hub_user()
    loads = page_loads
    log_in(user)
    page.evaluate("window.__sameDocument = true")
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(f"{r.method} {r.url}") if "/api/v1/" in r.url else None)

    job_id = submit_job(page, 5)
    row = job_row(page, job_id)
    expect(row.locator(".job-status")).to_have_text(re.compile("queued|running"))
    # Mid-progress: screenshots for a person to look at, wide and at 360 px.
    page.wait_for_function(
        "id => { const p = document.querySelector(`tr[data-job-id='${id}'] progress`);"
        " return p && p.value > 0 && p.value < 100; }", arg=job_id)
    desktop = screenshot_dir / "jobs-mid-progress-desktop.png"
    page.screenshot(path=str(desktop), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    narrow = screenshot_dir / "jobs-mid-progress-360px.png"
    page.screenshot(path=str(narrow), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    with capsys.disabled():
        print(f"\nconsole screenshots: {desktop} and {narrow}")

    expect(row.locator(".job-status")).to_have_text("succeeded", timeout=40_000)
    assert progress_of(page, job_id) == 100
    expect(row.locator(".progress-text")).to_have_text("100 %")
    # Pushed over the socket: no reload, and the list was never fetched again.
    assert page.evaluate("window.__sameDocument") is True and len(loads) == 1
    assert api_calls == [f"POST {hub_url}/api/v1/jobs"]
    assert user.job(job_id)["status"] == "succeeded"

    # The detail shows the ledger's timeline, oldest first.
    page.set_viewport_size({"width": 1280, "height": 800})
    row.get_by_role("link", name="demo.sleep").click()
    expect(page).to_have_url(re.compile(f"#/jobs/{job_id}$"))
    timeline = page.get_by_role("list", name="Event timeline, oldest first")
    expect(timeline.locator("li").last).to_contain_text("succeeded")
    statuses = timeline.locator(".event-transition .job-status").all_inner_texts()
    assert statuses == ["queued", "running", "succeeded"]
    assert timeline.locator(".event-progress").count() == 5
    expect(page.locator(".job-summary .job-status")).to_have_text("succeeded")
    assert page.evaluate("window.__sameDocument") is True and len(loads) == 1
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "job-detail-360px.png"), full_page=True)


def stops(user, job_id: str) -> int:
    return sum("stopped after cancel" in (e["message"] or "") for e in user.events(job_id))


def test_cancel_a_running_job(page, log_in, hub_user, worker):
    user = hub_user()
    log_in(user)
    job_id = submit_job(page, 30)
    row = job_row(page, job_id)
    expect(row.locator(".job-status")).to_have_text("running", timeout=30_000)
    wait_until(lambda: progress_of(page, job_id) > 0, 20, "the first progress step")
    expect(row.locator(".job-retry")).to_be_hidden()
    row.get_by_role("button", name=re.compile("^Cancel ")).click()
    expect(row.locator(".job-status")).to_have_text("cancelled")
    expect(page.locator("#notice")).to_have_text("Job cancelled.")
    expect(row.locator(".job-cancel")).to_be_hidden()
    expect(row.locator(".job-retry")).to_be_visible()
    assert user.job(job_id)["status"] == "cancelled"
    # The worker stops the handler at its next checkpoint, and the row stays put.
    wait_until(lambda: stops(user, job_id) == 1, 20, "the handler to stop")
    expect(row.locator(".job-status")).to_have_text("cancelled")

    # Retry queues it again; it runs, and can be cancelled again.
    row.get_by_role("button", name=re.compile("^Retry ")).click()
    expect(page.locator("#notice")).to_have_text("Job queued for retry.")
    expect(row.locator(".job-status")).to_have_text("running", timeout=30_000)
    expect(row.locator(".job-retry")).to_be_hidden()
    row.get_by_role("button", name=re.compile("^Cancel ")).click()
    expect(row.locator(".job-status")).to_have_text("cancelled")
    wait_until(lambda: stops(user, job_id) == 2, 20, "the handler to stop again")


def test_payload_errors_are_shown_beside_their_fields(page, log_in, hub_user, worker):
    user = hub_user()
    log_in(user)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    seconds_error = page.locator('[data-field="payload.seconds"] .field-error')

    page.get_by_label("Seconds").fill("")
    page.get_by_role("button", name="Queue job").click()
    expect(seconds_error).to_have_text("Required.")  # checked in the page, nothing sent
    expect(page.get_by_label("Seconds")).to_be_focused()
    assert posts == []

    page.get_by_label("Seconds").fill("700")
    page.get_by_role("button", name="Queue job").click()
    expect(page.get_by_role("alert")).to_contain_text("The payload does not match the job type's schema.")
    expect(seconds_error).to_have_text("700 is greater than the maximum of 600")
    expect(page.get_by_label("Seconds")).to_have_attribute("aria-invalid", "true")

    job_id = submit_job(page, 0.5)
    expect(seconds_error).to_be_hidden()
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(job_row(page, job_id).locator(".job-status")).to_have_text("succeeded", timeout=30_000)


def test_keyboard_login_survives_reload_and_logout_revokes(page, hub_user, hub_url):
    user = hub_user()
    page.goto("/console")
    expect(page.get_by_role("heading", name="Log in")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    page.keyboard.type(user.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    expect(page.locator("#account-name")).to_have_text("Casey Console · Console Co")
    # While the page runs the refresh token is in memory only, not in storage.
    assert stored_refresh_token(page) is None

    # A reload hands it to the next page, which spends it for a new pair.
    with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/refresh")) as renewal:
        page.reload()
    assert renewal.value.status == 200
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    spent = renewal.value.request.headers["authorization"].removeprefix("Bearer ")
    current = renewal.value.json()["data"]["refresh_token"]
    assert current != spent and stored_refresh_token(page) is None

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.reload()  # nothing to resume after logging out
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    revoked = requests.post(hub_url + "/api/v1/auth/refresh", timeout=10,
                            headers={"Authorization": f"Bearer {current}"})
    assert revoked.status_code == 401


def test_access_token_is_renewed_before_it_expires(page, log_in, hub_user, hub_url):
    user = hub_user()
    page.clock.install()
    log_in(user)
    # Access tokens live 15 minutes; the console renews one a minute early.
    with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/refresh")) as renewal:
        page.clock.fast_forward("14:30")
    assert renewal.value.status == 200
    assert renewal.value.json()["data"]["refresh_token"] != \
        renewal.value.request.headers["authorization"].removeprefix("Bearer ")
    # The old refresh token was spent; the new pair keeps the console working.
    page.get_by_label("Status").select_option("succeeded")
    expect(page.get_by_text("0 jobs")).to_be_visible()
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live", timeout=30_000)
    assert page.get_by_role("heading", name="Log in").count() == 0


def test_staff_get_a_flower_link_members_do_not(page, log_in, hub_user):
    staff = hub_user(staff=True, tenant="Ops")
    log_in(staff)
    flower = page.get_by_role("link", name=re.compile("^Flower"))
    expect(flower).to_have_attribute("href", FLOWER_URL)
    expect(flower).to_have_attribute("target", "_blank")
    page.get_by_role("button", name="Log out").click()

    member = hub_user()
    log_in(member)
    expect(page.get_by_role("link", name="Jobs")).to_be_visible()
    assert page.get_by_role("link", name=re.compile("^Flower")).count() == 0


def test_descriptions_show_code_spans_and_a_new_job_is_scrolled_into_view(page, log_in, hub_user, hub_url,
                                                                        screenshot_dir):
    user = hub_user()
    types = requests.get(f"{hub_url}/api/v1/jobs/types", headers=user.headers, timeout=10).json()["data"]
    sleep = next(t for t in types if t["name"] == "demo.sleep")
    assert "`seconds`" in sleep["description"]
    page.set_viewport_size({"width": 360, "height": 740})
    log_in(user)
    # Backticked names read as code, built as elements: no raw backticks, no markup from data.
    description = page.locator(".type-description")
    expect(description).to_have_text(sleep["description"].replace("`", ""))
    expect(description.locator("code")).to_have_text(["seconds", "fail_times"])
    # The demo's "record" option speaks to the person trying it, not to the test suite.
    record_hint = page.locator('[data-field="payload.record"] .hint')
    expect(record_hint).to_have_text(sleep["payload_schema"]["properties"]["record"]["description"])
    expect(record_hint).not_to_contain_text("exactly-once")
    expect(record_hint).not_to_contain_text("demo_effects")

    # At 360 px the list is below the form: after queuing, the new row is on screen.
    job_id = submit_job(page, 30)
    expect(job_row(page, job_id)).to_be_in_viewport()
    expect(page.locator("#notice")).to_have_text(re.compile("queued", re.I))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "jobs-queued-360px.png"))

    # The notice was about the jobs screen: it does not follow the user to the next one.
    page.get_by_role("link", name="Files", exact=True).click()
    expect(page.get_by_role("heading", name="Files", exact=True)).to_be_visible()
    expect(page.locator("#notice")).to_have_text("")
