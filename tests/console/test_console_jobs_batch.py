"""The console's "Many jobs" form in a real browser: paste or upload a JSON list, all or none."""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

BATCH_POST = re.compile(r"/api/v1/jobs/batch$")


def _queue(page) -> list[str]:
    with page.expect_response(lambda r: r.request.method == "POST" and BATCH_POST.search(r.url)) as info:
        page.get_by_role("button", name="Queue all").click()
    assert info.value.status == 202, info.value.text()
    return [job["id"] for job in info.value.json()["data"]]


def test_a_pasted_list_is_queued_whole_and_each_job_runs_live(page, log_in, hub_user, worker):
    user = hub_user()
    log_in(user)
    box = page.get_by_label("Jobs (JSON)")
    # Not a list, then one bad job: nothing is sent, or the hub refuses all and says which.
    box.fill('{"type": "demo.sleep"}')
    page.get_by_role("button", name="Queue all").click()
    expect(page.locator('[data-field="jobs"] .field-error')).to_have_text(
        'Give a JSON list of jobs, or an object {"jobs": [...]}.')
    expect(box).to_have_attribute("aria-invalid", "true")
    box.fill(json.dumps([{"type": "demo.sleep", "payload": {"seconds": 0}},
                         {"type": "demo.sleep", "payload": {"seconds": "soon"}}]))
    page.get_by_role("button", name="Queue all").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("1 of the 2 jobs are not valid; none was queued.")
    expect(alert).to_contain_text("job 2.payload.seconds: 'soon' is not of type 'number'")
    expect(page.locator("tr[data-job-id]")).to_have_count(0)

    box.fill(json.dumps([{"type": "demo.sleep", "payload": {"seconds": 0}}] * 3))
    ids = _queue(page)
    expect(page.locator("#notice")).to_have_text("3 jobs queued.")
    expect(box).to_have_value("")
    for job_id in ids:
        row = page.locator(f'tr[data-job-id="{job_id}"]')
        expect(row.locator(".job-status")).to_have_text("succeeded", timeout=30_000)


def test_a_json_file_fills_the_list(page, log_in, hub_user, worker):
    user = hub_user()
    log_in(user)
    jobs = {"jobs": [{"type": "demo.sleep", "payload": {"seconds": 0}, "notify": False}] * 2}
    page.get_by_label("…or read them from a file").set_input_files(
        files=[{"name": "jobs.json", "mimeType": "application/json", "buffer": json.dumps(jobs).encode()}])
    expect(page.get_by_label("Jobs (JSON)")).to_have_value(json.dumps(jobs))
    ids = _queue(page)
    assert len(ids) == 2
    for job_id in ids:
        expect(page.locator(f'tr[data-job-id="{job_id}"]')).to_be_visible()
