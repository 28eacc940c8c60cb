"""Fixtures for the console's browser tests: Debian's Chromium through Playwright,
a real hub (gunicorn and its realtime process) and a real worker, shared by the
modules of this package.

The browser is the distribution's (/usr/bin/chromium, installed by `make test`
through scripts/localservices.py); Playwright never downloads one. The hub
and the worker are the same processes as the `live_server` and `start_worker`
fixtures start. They run while consecutive modules ask for the same settings
(`console_config`), so each test costs seconds; a module with settings of its own
(Stripe in test_console_reconciliations.py) gets its own pair, and only one pair
runs at a time, so no worker with other settings takes that module's jobs. All
stop when the package's last test is done, before other packages' tests run
their own workers on the same Redis. Every test still starts from empty tables
(tests/conftest.py's `_clean_state`) and a fresh browser context (its own
sessionStorage).
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
import requests
from playwright.sync_api import expect

from tests.support.helpers import PASSWORD
from tests.support.processes import ROOT, HubProcess, WebHub
from tests.support.workers import HubWorkers

CHROMIUM = os.environ.get("CONSOLE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
FLOWER_URL = "http://flower.hub.test:5555/"
OUTPUT_DIR = ROOT / "test-output" / "console"


@pytest.fixture(scope="package")
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


class ConsoleStack:
    """The API with its realtime process, and a worker, of one set of settings, started
    when first asked for."""

    def __init__(self, celery_app: Any, process_logs: Path) -> None:
        self.celery_app = celery_app
        self.process_logs = process_logs
        self.config: dict[str, Any] | None = None
        self.web: WebHub | None = None
        self.worker: HubProcess | None = None

    def _use(self, config: dict[str, Any]) -> None:
        """Stop what runs with other settings (or has died) before serving `config`."""
        if config != self.config:
            self.stop()
            self.config = config
        if self.web is not None and not self.web.alive():
            self.web.stop()
            self.web = None
        if self.worker is not None and self.worker.proc.poll() is not None:
            self.worker.stop()
            self.worker = None

    def hub_url(self, config: dict[str, Any]) -> str:
        self._use(config)
        if self.web is None:
            self.web = WebHub(config, self.process_logs)
        return self.web.url

    def ready_worker(self, config: dict[str, Any]) -> HubProcess:
        self._use(config)
        if self.worker is None:
            self.worker = HubWorkers(self.celery_app, config, self.process_logs).worker("console")
        return self.worker

    def stop(self) -> None:
        if self.web is not None:
            self.web.stop()
        if self.worker is not None:
            self.worker.stop()
        self.config, self.web, self.worker = None, None, None


@pytest.fixture(scope="package")
def console_stack(app, process_logs: Path) -> Iterator[ConsoleStack]:
    stack = ConsoleStack(app.extensions["celery"], process_logs)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def hub_url(console_stack: ConsoleStack, console_config: dict[str, Any]) -> str:
    """The hub (gunicorn for HTTP, the realtime process for Socket.IO) with this module's
    settings."""
    return console_stack.hub_url(console_config)


@pytest.fixture(scope="module")
def worker(console_stack: ConsoleStack, console_config: dict[str, Any]) -> HubProcess:
    """A real Celery worker on every queue, with this module's settings."""
    return console_stack.ready_worker(console_config)


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


@pytest.fixture
def log_in(page):
    """`log_in(user)`: log in through the console's form and wait for the jobs screen, live."""

    def _log_in(user: Any) -> None:
        page.goto("/console")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(user.password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
        expect(page.locator("#live-state")).to_have_attribute("data-state", "live")

    return _log_in


@pytest.fixture
def page_loads(page) -> list[str]:
    """Every full page load from here on (a screen change must not add one)."""
    loads: list[str] = []
    page.on("load", lambda _: loads.append(page.url))
    return loads


@pytest.fixture
def open_screen(page):
    """`open_screen(link, empty_text)`: follow a nav link, expect its heading and empty state."""

    def _open(link: str, empty_text: str) -> None:
        page.get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=link, exact=True)).to_be_visible()
        expect(page.get_by_text(empty_text)).to_be_visible()

    return _open


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

    def add_member(self, name: str = "Morgan Member") -> SimpleNamespace:
        """A member of this owner's tenant, added over HTTP: `.email`, `.password`, `.data`."""
        email = f"member-{uuid.uuid4().hex[:10]}@example.com"
        resp = requests.post(f"{self.base}/api/v1/users", headers=self.headers, timeout=10, json={
            "email": email, "name": name, "password": PASSWORD})
        assert resp.status_code == 201, resp.text
        return SimpleNamespace(email=email, password=PASSWORD, data=resp.json()["data"])

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


def mailed_link(app, template: str, email: str, key: str) -> str:
    """The fragment (#/...) of the newest link of `template` mailed to `email` (read from
    the queued `email.send` job, which is what the recipient would click)."""
    from sqlalchemy import select

    from hub.extensions import db
    from hub.models import Job

    with app.app_context():
        for job in db.session.scalars(select(Job).where(Job.type == "email.send")
                                      .order_by(Job.created_at.desc())):
            if job.payload.get("template") == template and email in job.payload["to"]:
                url = job.payload["context"][key]
                return url[url.index("#"):]
    raise AssertionError(f"no {template} mail to {email}")


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR
