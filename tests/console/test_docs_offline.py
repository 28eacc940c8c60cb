"""`/docs` in a real browser with no network but the hub: Swagger UI comes from the hub."""
from __future__ import annotations

from playwright.sync_api import expect


def test_docs_render_with_every_other_host_blocked(page, hub_url, screenshot_dir):
    outside: list[str] = []

    def only_the_hub(route) -> None:
        if route.request.url.startswith(hub_url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_the_hub)
    page.goto("/docs")
    expect(page.get_by_role("heading", name="Integration Hub API")).to_be_visible()
    # The operations are listed from /openapi.json, grouped by resource.
    expect(page.locator("#operations-tag-jobs")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/jobs").first).to_be_attached()
    page.screenshot(path=str(screenshot_dir / "docs-offline.png"))
    assert outside == []
