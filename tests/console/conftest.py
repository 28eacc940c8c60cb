"""Fixtures for the console's browser tests: Debian's Chromium through Playwright,
a real hub under gunicorn and a real worker, started once per module.

The browser is the distribution's (/usr/bin/chromium, installed by `make test`
through scripts/localservices.py); Playwright never downloads one. gunicorn
and the worker are the same processes as the `live_server` and `start_ready_worker`
fixtures start, kept for the whole module so each test costs seconds; every
test still starts from empty tables (tests/conftest.py's `_clean_state`) and a
fresh browser context (its own sessionStorage).
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from localservices import free_port

from tests.helpers import PASSWORD
from tests.processes import ROOT, start_gunicorn, start_ready_worker, wait_until

CHROMIUM = os.environ.get("CONSOLE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
FLOWER_URL = "http://flower.hub.test:5555/"
OUTPUT_DIR = ROOT / "test-output" / "console"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make services` (or apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def console_config(base_config: dict[str, Any]) -> dict[str, Any]:
    return {**base_config, "FLOWER_URL": FLOWER_URL}


@pytest.fixture(scope="module")
def hub_url(app, console_config: dict[str, Any], process_logs: Path) -> Iterator[str]:
    """The hub under gunicorn (HTTP + Socket.IO), for the whole module."""
    port = free_port()
    proc = start_gunicorn(console_config, process_logs, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(base + "/health/live", timeout=1).ok, 30,
                   "gunicorn to serve /health/live", proc=proc.proc)
        yield base
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def worker(app, console_config: dict[str, Any], process_logs: Path) -> Iterator[Any]:
    """A real Celery worker on every queue, for the whole module."""
    proc = start_ready_worker(app.extensions["celery"], console_config, process_logs, "console")
    yield proc
    proc.stop()


@pytest.fixture
def page(browser, hub_url: str) -> Iterator[Any]:
    """A fresh browser context and page; fails the test on script errors or CSP violations."""
    # A fixed locale: tests read amounts and dates as the page formats them.
    context = browser.new_context(base_url=hub_url, viewport={"width": 1280, "height": 800}, locale="en-US")
    context.set_default_timeout(20_000)
    pg = context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    pg.on("console", lambda msg: problems.append(f"console: {msg.text}")
          if "Content Security Policy" in msg.text or "Refused to" in msg.text else None)
    try:
        yield pg
    finally:
        context.close()
    assert problems == []


class HubUser:
    """A tenant owner registered over HTTP on the live hub."""

    def __init__(self, base: str, tenant: str = "Console Co") -> None:
        self.base = base
        self.email = f"{uuid.uuid4().hex[:10]}@example.com"
        self.password = PASSWORD
        resp = requests.post(base + "/api/v1/auth/register", timeout=10, json={
            "tenant_name": tenant, "name": "Casey Console", "email": self.email,
            "password": PASSWORD})
        assert resp.status_code == 201, resp.text
        self.data = resp.json()["data"]
        self.headers = {"Authorization": f"Bearer {self.data['access_token']}"}

    def job(self, job_id: str) -> dict[str, Any]:
        resp = requests.get(f"{self.base}/api/v1/jobs/{job_id}", headers=self.headers, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]

    def events(self, job_id: str) -> list[dict[str, Any]]:
        resp = requests.get(f"{self.base}/api/v1/jobs/{job_id}/events?per_page=100",
                            headers=self.headers, timeout=10)
        return resp.json()["data"]


@pytest.fixture
def hub_user(app, hub_url: str):
    """Register a tenant owner; `hub_user(staff=True)` makes them hub staff."""

    def make(staff: bool = False, tenant: str = "Console Co") -> HubUser:
        user = HubUser(hub_url, tenant)
        if staff:
            from hub.extensions import db
            from hub.models import User

            with app.app_context():
                db.session.get(User, uuid.UUID(user.data["user"]["id"])).is_staff = True
                db.session.commit()
        return user

    return make


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR
