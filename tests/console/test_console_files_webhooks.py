"""The files and webhook-endpoint screens in a real browser (Debian's Chromium via
Playwright) against a real hub under gunicorn and a real Celery worker: the upload's
bytes go over HTTP, the worker processes the file, progress arrives over Socket.IO,
and webhook deliveries reach a real HTTP receiver on loopback."""
from __future__ import annotations

import io
import json
import re
from typing import Iterator

import pytest
import requests
from playwright.sync_api import expect

from tests.support.http_fake import FakeHTTPServer
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

FILES_POST = re.compile(r"/api/v1/files$")
ENDPOINTS_POST = re.compile(r"/api/v1/webhook-endpoints$")


def png_bytes(width: int = 64, height: int = 40) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(out, format="PNG")
    return out.getvalue()


def upload(page, name: str, data: bytes, mime: str):
    page.get_by_label("File to upload").set_input_files({"name": name, "mimeType": mime, "buffer": data})
    with page.expect_response(lambda r: r.request.method == "POST" and FILES_POST.search(r.url)) as info:
        page.get_by_role("button", name="Upload", exact=True).click()
    return info.value


def test_upload_shows_bytes_then_processing_then_the_thumbnail(page, log_in, open_screen, hub_user, worker,
                                                               hub_url, screenshot_dir):
    user = hub_user()
    log_in(user)
    open_screen("Files", "No files yet.")

    # An empty file: the hub refuses it and the form shows the envelope's message.
    refused = upload(page, "empty.png", b"", "image/png")
    assert refused.status == 422
    expect(page.get_by_role("alert")).to_contain_text(refused.json()["message"])

    data = png_bytes()
    answer = upload(page, "red square.png", data, "image/png")
    assert answer.status == 201, answer.text()
    file = answer.json()["data"]
    assert file["job_id"]
    expect(page.get_by_role("progressbar", name="Upload progress")).to_have_attribute("value", "100")
    expect(page.locator(".upload-box .progress-text")).to_have_text("100 %")
    expect(page.get_by_role("alert")).to_be_hidden()

    row = page.locator(f'tr[data-file-id="{file["id"]}"]')
    expect(row.locator(".file-status")).to_have_text("processed", timeout=60_000)
    thumb = row.get_by_role("img", name="Thumbnail of red square.png")
    expect(thumb).to_be_visible()
    assert thumb.get_attribute("src").startswith("blob:")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    # Processing progress came over the socket: the job reached 100 % and succeeded.
    assert user.job(file["job_id"])["status"] == "succeeded"

    # Download: the bytes come back as they went up.
    with page.expect_download() as download:
        row.get_by_role("button", name="Download red square.png").click()
    assert download.value.suggested_filename == "red square.png"
    assert open(download.value.path(), "rb").read() == data

    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "files-360px.png"), full_page=True)

    # Delete (after the confirm dialog): the row goes, and so does the file.
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete red square.png").click()
    expect(page.locator("#notice")).to_have_text("File deleted.")
    expect(row).to_have_count(0)
    gone = requests.get(f"{hub_url}/api/v1/files/{file['id']}", headers=user.headers, timeout=10)
    assert gone.status_code == 404


@pytest.fixture
def receiver() -> Iterator[FakeHTTPServer]:
    """Where the webhooks go: it answers 204 and records each POST."""
    with FakeHTTPServer(204) as server:
        yield server


def test_webhook_endpoint_secret_once_toggle_and_replay(page, log_in, hub_user, worker, hub_url, receiver,
                                                         screenshot_dir):
    user = hub_user()
    log_in(user)
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhook endpoints")).to_be_visible()

    # No event chosen: the hub's envelope message on top, its field error beside the events.
    page.get_by_label("URL").fill(receiver.url("/hooks"))
    with page.expect_response(lambda r: r.request.method == "POST" and ENDPOINTS_POST.search(r.url)) as info:
        page.get_by_role("button", name="Create endpoint").click()
    assert info.value.status == 422
    expect(page.get_by_role("alert")).to_contain_text(info.value.json()["message"])
    expect(page.locator('fieldset[data-field="events"] > .field-error')).to_be_visible()

    # By keyboard: tick job.succeeded with the space bar, submit with Enter.
    page.get_by_label("job.succeeded").focus()
    page.keyboard.press("Space")
    page.get_by_label("Description").fill("Orders system")
    with page.expect_response(lambda r: r.request.method == "POST" and ENDPOINTS_POST.search(r.url)) as info:
        page.get_by_label("Description").press("Enter")
    assert info.value.status == 201, info.value.text()
    created = info.value.json()["data"]
    secret = created["secret"]
    assert secret.startswith("whsec_")
    expect(page.locator(".secret-value")).to_have_text(secret)
    expect(page.get_by_role("region", name="Signing secret")).to_be_focused()
    row = page.locator(f'tr[data-endpoint-id="{created["id"]}"]')
    expect(row.locator(".endpoint-state")).to_have_text("enabled")
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "webhooks-secret-360px.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})

    # Once: dismissed, and gone for good after a reload.
    page.get_by_role("button", name="I have copied it").click()
    expect(page.locator(".secret-value")).to_have_count(0)
    page.reload()
    expect(row).to_be_visible()
    assert secret not in page.content()

    row.get_by_role("button", name="Disable Orders system").click()
    expect(row.locator(".endpoint-state")).to_have_text("disabled")
    expect(row.get_by_role("button", name="Enable Orders system")).to_be_focused()
    row.get_by_role("button", name="Enable Orders system").click()
    expect(row.locator(".endpoint-state")).to_have_text("enabled")

    # A job succeeds → one delivery; the log shows it, and Replay sends it again.
    job = requests.post(f"{hub_url}/api/v1/jobs", headers=user.headers, timeout=10,
                        json={"type": "demo.sleep", "payload": {"seconds": 0}})
    assert job.status_code == 202, job.text
    wait_until(lambda: len(receiver.requests()) == 1, 60, "the webhook delivery")
    row.get_by_role("link", name="Deliveries of Orders system").click()
    delivery = page.locator("tr[data-delivery-id]")
    expect(delivery.locator(".delivery-status")).to_have_text("delivered")
    expect(delivery).to_contain_text("HTTP 204")
    delivery.get_by_role("button", name=re.compile("^Replay job.succeeded")).click()
    expect(page.locator("#notice")).to_have_text("Delivery queued again.")
    wait_until(lambda: len(receiver.requests()) == 2, 60, "the replayed delivery")
    first, again = receiver.requests()
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    assert again.json() == first.json() and first.json()["type"] == "job.succeeded"


def test_members_get_files_but_no_webhook_screen(page, log_in, hub_user):
    member = hub_user().add_member()
    log_in(member)
    nav = page.locator("#nav-links")
    expect(nav.get_by_role("link", name="Files", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Webhooks")).to_have_count(0)
    page.goto("/console#/webhooks")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_webhook_endpoint_edit_send_test_rotate_and_delete(page, log_in, hub_user, worker, hub_url, receiver,
                                                           screenshot_dir):
    user = hub_user()
    api = f"{hub_url}/api/v1/webhook-endpoints"
    created = requests.post(api, headers=user.headers, timeout=10, json={
        "url": receiver.url("/hooks"), "events": ["job.failed"], "description": "Orders system"}
    ).json()["data"]
    log_in(user)
    page.get_by_role("link", name="Webhooks").click()
    row = page.locator(f'tr[data-endpoint-id="{created["id"]}"]')

    # Edit in place: the form opens filled in; the list shows the saved endpoint.
    row.get_by_role("button", name="Edit Orders system").click()
    edit = page.get_by_role("form", name="Edit Orders system")
    expect(edit.get_by_label("URL")).to_be_focused()
    expect(edit.get_by_label("URL")).to_have_value(receiver.url("/hooks"))
    expect(edit.get_by_label("job.failed")).to_be_checked()
    edit.get_by_label("invoice.paid").check()
    edit.get_by_label("Description").fill("Orders v2")
    with page.expect_response(lambda r: r.request.method == "PATCH" and created["id"] in r.url) as info:
        edit.get_by_role("button", name="Save changes").click()
    assert info.value.status == 200, info.value.text()
    expect(page.locator("#notice")).to_have_text("Webhook endpoint updated.")
    expect(edit).to_have_count(0)
    expect(row.get_by_role("cell", name="job.failed, invoice.paid")).to_be_visible()
    stored = requests.get(f"{api}/{created['id']}", headers=user.headers, timeout=10).json()["data"]
    assert stored["description"] == "Orders v2" and stored["events"] == ["job.failed", "invoice.paid"]

    # Send test: a signed webhook.test reaches the receiver and the delivery log.
    row.get_by_role("button", name="Send a test event to Orders v2").click()
    expect(page.locator("#notice")).to_have_text("Test delivery queued.")
    wait_until(lambda: len(receiver.requests()) == 1, 60, "the test delivery")
    (test,) = receiver.requests()
    assert test.json()["type"] == "webhook.test" and test.json()["data"]["endpoint_id"] == created["id"]
    assert test.headers["webhook-signature"].startswith("v1,")

    # Rotate: the new secret is shown once; the old one still signs for the grace period.
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(lambda r: r.url.endswith("/rotate-secret")) as info:
        row.get_by_role("button", name="Rotate the secret of Orders v2").click()
    assert info.value.status == 200, info.value.text()
    new_secret = info.value.json()["data"]["secret"]
    assert new_secret != created["secret"]
    box = page.get_by_role("region", name="New signing secret")
    expect(box).to_be_focused()
    expect(box.locator(".secret-value")).to_have_text(new_secret)
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "webhooks-rotated-360px.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(screenshot_dir / "webhooks-rotated-desktop.png"), full_page=True)
    box.get_by_role("button", name="I have copied it").click()
    expect(row.get_by_role("button", name="Rotate the secret of Orders v2")).to_be_focused()

    row.get_by_role("link", name="Deliveries of Orders v2").click()
    delivery = page.locator("tr[data-delivery-id]")
    expect(delivery.locator(".delivery-status")).to_have_text("delivered")
    expect(delivery).to_contain_text("webhook.test")
    page.get_by_role("link", name="← Webhook endpoints").click()

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete Orders v2").click()
    expect(page.locator("#notice")).to_have_text("Webhook endpoint deleted.")
    expect(page.get_by_text("No webhook endpoints yet.")).to_be_visible()
    assert requests.get(f"{api}/{created['id']}", headers=user.headers, timeout=10).status_code == 404


def test_file_detail_shows_type_mismatch_size_and_csv_row_errors(page, log_in, hub_user, worker, hub_url,
                                                                 screenshot_dir):
    user = hub_user()
    schema = {"columns": [{"name": "email", "type": "email", "required": True},
                          {"name": "age", "type": "integer", "min": 0}]}
    data = b"email,age\nana@example.com,31\nnot-an-email,7\nbo@example.com,-2\n"
    resp = requests.post(f"{hub_url}/api/v1/files", headers=user.headers, timeout=10,
                         data={"csv_schema": json.dumps(schema)},
                         files={"file": ("people.csv", data, "image/png")})  # a wrong claim
    assert resp.status_code == 201, resp.text
    file_id = resp.json()["data"]["id"]
    log_in(user)
    page.get_by_role("link", name="Files", exact=True).click()
    page.get_by_role("link", name="people.csv").click()
    expect(page.get_by_role("heading", name="people.csv")).to_be_visible()

    # Processed by the worker while the page follows the job; then read again.
    expect(page.locator(".file-facts .file-status")).to_have_text("processed", timeout=60_000)
    file = requests.get(f"{hub_url}/api/v1/files/{file_id}", headers=user.headers, timeout=10).json()["data"]
    csv = file["metadata"]["csv"]
    assert file["metadata"]["declared_content_type_mismatch"] is True and csv["invalid_rows"] == 2
    expect(page.locator(".file-size")).to_have_text(f"{len(data)} bytes")
    expect(page.locator(".file-detected")).to_contain_text(file["content_type"])
    expect(page.locator(".file-declared")).to_contain_text("image/png")
    expect(page.locator(".type-mismatch")).to_have_text("does not match the content")
    expect(page.locator(".csv-counts")).to_contain_text("3 rows: 1 valid, 2 with errors")
    errors = page.locator(".row-errors-table tbody tr")
    expect(errors).to_have_count(len(csv["row_errors"]))
    expect(page.locator(".row-error")).to_have_text([e["error"] for e in csv["row_errors"]])
    expect(errors.first.locator("th")).to_have_text(str(csv["row_errors"][0]["row"]))
    page.screenshot(path=str(screenshot_dir / "file-detail-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(screenshot_dir / "file-detail-360px.png"), full_page=True)
    page.get_by_role("link", name="← All files").click()
    expect(page.get_by_role("heading", name="Files", exact=True)).to_be_visible()
