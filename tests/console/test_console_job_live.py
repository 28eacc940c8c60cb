"""A job watched live on its page ends as a reload would show it (job.updated is the whole job)."""
from __future__ import annotations

import requests
from playwright.sync_api import expect


def test_a_job_that_failed_once_ends_succeeded_without_its_old_error_and_with_finished(
        page, log_in, page_loads, hub_user, hub_url, worker, screenshot_dir):
    user = hub_user()
    log_in(user)
    resp = requests.post(f"{hub_url}/api/v1/jobs", headers=user.headers, timeout=10,
                         json={"type": "demo.sleep", "payload": {"seconds": 3, "fail_times": 1}})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["data"]["id"]
    page.evaluate(f"location.hash = '#/jobs/{job_id}'")  # same document: only events from here on

    summary = page.locator(".job-summary")
    finished = summary.locator("dt:text-is('Finished') + dd")
    # While attempt 2 runs, the page shows attempt 1's failure ...
    expect(summary.locator(".job-error")).to_contain_text("DEMO_FAILURE")
    expect(finished).to_have_text("—")
    # ... and once it succeeds the events alone clear it and set the finish time.
    expect(summary.locator(".job-status")).to_have_text("succeeded", timeout=40_000)
    expect(summary.locator(".job-error")).to_have_count(0)
    expect(finished.locator("time")).to_have_attribute("datetime", user.job(job_id)["finished_at"])
    expect(summary.get_by_role("heading", name="Result")).to_be_visible()
    assert len(page_loads) == 1  # never reloaded
    page.screenshot(path=str(screenshot_dir / "job-detail-after-retry-desktop.png"), full_page=True)
