"""The connections screen in a real browser (Debian's Chromium via Playwright) against a real
hub under gunicorn and a real Celery worker: a `rest` connection to the hub's own sample
source (/demo-source/items, over HTTP on loopback), synced by the worker, its progress and
records arriving live. This module's hub has no Stripe, so the reconciliations screen's
"not configured" answer is checked here too."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

CONNECTIONS_POST = re.compile(r"/api/v1/connections$")
SYNC_POST = re.compile(r"/api/v1/connections/[0-9a-f-]{36}/sync$")
TOKEN = "tok-console-" + "q" * 20


def create(page):
    def is_post(r) -> bool:
        return r.request.method == "POST" and bool(CONNECTIONS_POST.search(r.url))

    with page.expect_response(is_post) as info:
        page.get_by_role("button", name="Create connection").click()
    return info.value


def test_create_sync_now_and_records_arrive_live(page, log_in, page_loads, open_screen, hub_user, hub_url,
                                                 worker, screenshot_dir):
    user = hub_user()
    loads = page_loads
    log_in(user)
    open_screen("Connections", "No connections yet.")

    # The config form comes from the connector's schema; a bad URL is refused beside its field.
    page.get_by_label("Connector").select_option("rest")
    page.get_by_role("textbox", name="Name", exact=True).fill("Sample products")
    page.get_by_role("textbox", name="URL", exact=True).fill("ftp://example.com/items")
    page.get_by_label("Token").fill(TOKEN)
    refused = create(page)
    assert refused.status == 422
    url_error = page.locator('[data-field="config.url"] .field-error')
    expect(url_error).to_have_text(" ".join(refused.json()["details"]["fields"]["json"]["config"]["url"]))
    url = page.get_by_role("textbox", name="URL", exact=True)
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_be_focused()
    expect(page.locator(".connection-form .form-error")).to_contain_text(refused.json()["message"])

    # An optional setting sits folded under "More settings".
    url.fill(f"{hub_url}/demo-source/items")
    page.get_by_text("More settings").click()
    page.get_by_role("spinbutton", name="Per page", exact=True).fill("10")
    answer = create(page)
    assert answer.status == 201, answer.text()
    conn = answer.json()["data"]
    assert conn["has_credentials"] is True and "credentials" not in conn
    assert answer.request.post_data_json["credentials"] == {"token": TOKEN}
    expect(page.get_by_label("Token")).to_have_value("")  # the form forgot it
    row = page.locator(f'tr[data-connection-id="{conn["id"]}"]')
    expect(row.locator(".sync-status")).to_have_text("never synced")

    row.get_by_role("link", name="Records of Sample products").click()
    expect(page.get_by_role("heading", name=re.compile("^Sample products"))).to_be_visible()
    expect(page.locator(".credentials-state")).to_have_text("Stored (never shown)")
    expect(page.get_by_text("No records yet. Sync to bring them in.")).to_be_visible()
    assert TOKEN not in page.content()

    # Sync now (from the keyboard): the job runs on the worker; its status, then the
    # records, arrive over the socket and the API without reloading the page.
    sync_button = page.get_by_role("button", name="Sync Sample products now")
    sync_button.focus()
    with page.expect_response(lambda r: r.request.method == "POST" and SYNC_POST.search(r.url)) as info:
        page.keyboard.press("Enter")
    assert info.value.status == 202, info.value.text()
    job_id = info.value.json()["data"]["id"]
    expect(page.locator(".sync-status")).to_have_text("succeeded", timeout=60_000)
    expect(page.locator(".sync-job a")).to_have_text(job_id[:8])

    api = f"{hub_url}/api/v1/connections/{conn['id']}"
    synced = requests.get(api, headers=user.headers, timeout=10).json()["data"]
    assert synced["last_sync_status"] == "succeeded" and synced["sync_job_id"] == job_id
    counts = synced["last_sync_counts"]
    assert counts["records"] == counts["created"] == 42 and counts["pages"] == 5
    expect(page.locator(".sync-message")).to_have_text(
        "42 records: 42 new, 0 updated, 0 unchanged, 0 deleted (5 pages)")
    records = requests.get(f"{api}/records?per_page=25", headers=user.headers, timeout=10).json()["data"]
    expect(page.locator(".records-table tbody tr")).to_have_count(25)
    expect(page.locator(".records-table .record-id")).to_have_text([r["external_id"] for r in records])
    expect(page.get_by_text("42 records · page 1 of 2")).to_be_visible()
    page.get_by_role("button", name="Next page").click()
    expect(page.locator(".records-table tbody tr")).to_have_count(17)
    assert loads == [loads[0]], "the page reloaded"
    assert TOKEN not in page.content()

    page.screenshot(path=str(screenshot_dir / "connection-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "connection-360px.png"), full_page=True)
    page.get_by_role("link", name="← All connections").click()
    expect(row.locator(".sync-status")).to_have_text("succeeded")
    expect(row.locator(".sync-message")).to_contain_text("42 new")

    # Sync now from the list: the row follows the new job and shows the new counts.
    with page.expect_response(lambda r: r.request.method == "POST" and SYNC_POST.search(r.url)) as info:
        row.get_by_role("button", name="Sync Sample products now").click()
    assert info.value.status == 202, info.value.text()
    expect(row.locator(".sync-message")).to_contain_text("0 new", timeout=60_000)
    expect(row.locator(".sync-status")).to_have_text("succeeded")
    again = requests.get(api, headers=user.headers, timeout=10).json()["data"]
    assert again["sync_job_id"] == info.value.json()["data"]["id"]
    expect(row.locator(".sync-message")).to_have_text(re.compile(
        rf"^42 records: 0 new, {again['last_sync_counts']['updated']} updated, "))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "connections-360px.png"), full_page=True)


def test_reconciliations_without_stripe_show_the_hubs_message(page, log_in, hub_user, hub_url):
    user = hub_user()
    answer = requests.get(f"{hub_url}/api/v1/payments/reconciliations", headers=user.headers, timeout=10)
    assert answer.status_code == 503
    log_in(user)
    page.get_by_role("link", name="Reconciliations", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(answer.json()["message"])
    expect(page.get_by_role("button", name="Run reconciliation")).to_be_hidden()


def test_edit_reschedule_and_delete_a_connection(page, log_in, hub_user, hub_url, screenshot_dir):
    user = hub_user()
    api = f"{hub_url}/api/v1/connections"
    created = requests.post(api, headers=user.headers, timeout=10, json={
        "connector": "rest", "name": "Sample products", "config": {"url": f"{hub_url}/demo-source/items"},
        "credentials": {"token": TOKEN}})
    assert created.status_code == 201, created.text
    conn = created.json()["data"]
    log_in(user)
    page.goto(f"/console#/connections/{conn['id']}")
    expect(page.get_by_role("heading", name=re.compile("^Sample products"))).to_be_visible()

    # The form opens filled in; credentials stay empty (kept unless typed).
    page.get_by_role("button", name="Edit connection").click()
    edit = page.get_by_role("form", name="Edit Sample products")
    expect(edit.get_by_role("textbox", name="Name", exact=True)).to_have_value("Sample products")
    expect(edit.get_by_role("textbox", name="URL", exact=True)).to_have_value(conn["config"]["url"])
    expect(edit.get_by_label("Token")).to_have_value("")
    expect(edit.get_by_label("Connector")).to_be_disabled()

    # Both an interval and a cron line: refused beside the schedule before anything is sent.
    edit.get_by_label("Sync every (seconds)").fill("3600")
    edit.get_by_label("Or on a cron schedule (UTC)").fill("*/15 * * * *")
    edit.get_by_role("button", name="Save changes").click()
    expect(edit.locator('fieldset[data-field="schedule"] > .field-error')).to_have_text(
        "Give either an interval or a cron line.")

    # Rename and reschedule by keyboard: only what changed goes to the hub.
    edit.get_by_label("Sync every (seconds)").fill("")
    edit.get_by_role("textbox", name="Name", exact=True).fill("Products")
    with page.expect_response(lambda r: r.request.method == "PATCH" and conn["id"] in r.url) as info:
        edit.get_by_role("textbox", name="Name", exact=True).press("Enter")
    assert info.value.status == 200, info.value.text()
    assert info.value.request.post_data_json == {"name": "Products", "schedule": {"cron": "*/15 * * * *"}}
    expect(page.locator("#notice")).to_have_text("Connection updated.")
    expect(edit).to_have_count(0)
    expect(page.get_by_role("heading", name=re.compile("^Products"))).to_be_visible()
    summary = page.locator(".connection-summary")
    expect(summary.get_by_text("Cron */15 * * * * (UTC)")).to_be_visible()
    expect(page.locator(".credentials-state")).to_have_text("Stored (never shown)")
    stored = requests.get(f"{api}/{conn['id']}", headers=user.headers, timeout=10).json()["data"]
    assert stored["schedule"] == {"cron": "*/15 * * * *"} and stored["next_sync_at"]
    assert stored["has_credentials"] is True

    # Back to "only on Sync now".
    page.get_by_role("button", name="Edit connection").click()
    edit = page.get_by_role("form", name="Edit Products")
    edit.get_by_label("Or on a cron schedule (UTC)").fill("")
    with page.expect_response(lambda r: r.request.method == "PATCH" and conn["id"] in r.url) as info:
        edit.get_by_role("button", name="Save changes").click()
    assert info.value.request.post_data_json == {"schedule": None}
    expect(summary.get_by_text("Only on “Sync now”")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "connection-edited-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.get_by_role("button", name="Edit connection").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "connection-edit-360px.png"), full_page=True)
    edit.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("button", name="Edit connection")).to_be_focused()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Sample products").click()
    expect(page.get_by_role("heading", name="Connections", exact=True)).to_be_visible()
    expect(page.locator("#notice")).to_have_text("Connection deleted.")
    expect(page.get_by_text("No connections yet.")).to_be_visible()
    assert requests.get(f"{api}/{conn['id']}", headers=user.headers, timeout=10).status_code == 404
