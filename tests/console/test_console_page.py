"""The console's server side: the page, its headers, its static files, /console/config."""
from __future__ import annotations

import re
import tomllib
import uuid
from pathlib import Path

import pytest

from hub import create_app
from hub.config import ConfigError
from hub.console import STATIC_DIR
from hub.extensions import db
from tests.support.helpers import assert_error

ROOT = Path(__file__).resolve().parents[2]
HTML_SINKS = re.compile(r"\.(inner|outer)HTML\s*[+]?=|insertAdjacentHTML\(|document\.write")
OWN_FILES = [p for p in STATIC_DIR.rglob("*") if p.is_file() and "vendor" not in p.parts]
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name for createElementNS, never fetched


def csp_directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def test_console_page_is_served_with_a_strict_csp(client):
    resp = client.get("/console")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert '<script type="module" src="/console/static/js/main.js">' in html
    csp = csp_directives(resp.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    # The test client's host, and the realtime server on REALTIME_PORT of the same host.
    assert csp["connect-src"] == ["'self'", "ws://localhost", "http://localhost:5001",
                                  "ws://localhost:5001"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert client.get("/console/").status_code == 200


def test_csp_names_the_websocket_of_the_requested_host_only_when_it_is_a_plain_host(app, client):
    https = client.get("/console", base_url="https://hub.example.com:8443")
    assert "wss://hub.example.com:8443" in https.headers["Content-Security-Policy"]
    forged = client.get("/console", headers={"Host": "evil.test; script-src *"})
    connect = csp_directives(forged.headers["Content-Security-Policy"])["connect-src"]
    assert connect[0] == "'self'" and not any("evil" in c for c in connect)
    assert "script-src *" not in forged.headers["Content-Security-Policy"]
    # A realtime server elsewhere (REALTIME_URL) is named as configured.
    app.config["REALTIME_URL"] = "https://rt.example.com"
    try:
        other = client.get("/console", base_url="https://hub.example.com")
    finally:
        app.config["REALTIME_URL"] = ""
    connect = csp_directives(other.headers["Content-Security-Policy"])["connect-src"]
    assert "https://rt.example.com" in connect and "wss://rt.example.com" in connect


def test_static_files_and_the_vendored_socketio_client_are_served(client):
    js = client.get("/console/static/js/main.js")
    assert js.status_code == 200 and js.mimetype in ("text/javascript", "application/javascript")
    assert "Content-Security-Policy" in js.headers
    vendor = client.get("/console/static/vendor/socket.io.min.js")
    assert vendor.status_code == 200
    assert vendor.get_data(as_text=True).startswith("/*!\n * Socket.IO v4.")
    assert "MIT License" in (STATIC_DIR / "vendor" / "socket.io-client.LICENSE").read_text()
    assert_error(client.get("/console/static/nope.js"), 404, "NOT_FOUND")


def test_every_module_import_and_page_asset_exists():
    """A typo in an import would only show in a browser; catch it here too."""
    index = (STATIC_DIR / "index.html").read_text()
    for ref in re.findall(r'(?:src|href)="/console/static/([^"]+)"', index):
        assert (STATIC_DIR / ref).is_file(), ref
    for path in STATIC_DIR.joinpath("js").rglob("*.js"):
        for spec in re.findall(r'^\s*(?:import|export)\b[^"\n;]*?from\s+"([^"]+)"', path.read_text(), re.M):
            assert spec.startswith("."), f"{path.name}: bare or absolute import {spec!r}"
            assert (path.parent / spec).resolve().is_file(), f"{path.name}: {spec} is missing"


def test_console_loads_nothing_from_elsewhere_and_builds_no_html_from_strings():
    for path in OWN_FILES:
        text = path.read_text().replace(f'"{SVG_NAMESPACE}"', "")
        assert not re.search(r"https?://", text), f"{path.name} names an outside URL"
        assert not HTML_SINKS.search(text), f"{path.name} builds HTML from a string"


def test_static_files_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["hub.console"]
    base = STATIC_DIR.parent
    packaged = {p for pattern in patterns for p in base.glob(pattern) if p.is_file()}
    assert packaged == {p for p in STATIC_DIR.rglob("*") if p.is_file()}


def test_config_needs_a_user_token(client, register):
    assert_error(client.get("/console/config"), 401, "UNAUTHORIZED")
    owner = register()
    key = owner.post("/api/v1/api-keys", json={"name": "script"}).get_json()["data"]["key"]
    assert_error(client.get("/console/config", headers={"X-API-Key": key}), 401, "UNAUTHORIZED")


def test_config_tells_flower_url_to_staff_only(app, client, register):
    from hub.models import User

    member, staff = register(), register()
    resp = member.get("/console/config")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["success"] is True and body["data"] == {"flower_url": None}
    with app.app_context():
        db.session.get(User, uuid.UUID(staff.user["id"])).is_staff = True
        db.session.commit()
    assert staff.get("/console/config").get_json()["data"] == {"flower_url": app.config["FLOWER_URL"]}


@pytest.mark.parametrize("url", ["javascript:alert(1)", "flower:5555", "/flower"])
def test_flower_url_must_be_a_web_address(base_config, url):
    with pytest.raises(ConfigError, match="FLOWER_URL"):
        create_app({**base_config, "FLOWER_URL": url})


def test_thumbnails_may_come_from_blob_urls_only_besides_this_origin(client):
    csp = csp_directives(client.get("/console").headers["Content-Security-Policy"])
    assert csp["img-src"] == ["'self'", "data:", "blob:"]


def test_webhook_screen_offers_exactly_the_hubs_event_types():
    from hub.jobs.events import EVENT_TYPES

    source = (STATIC_DIR / "js" / "screens" / "webhooks" / "widgets.js").read_text()
    listed = re.search(r"EVENT_TYPES = \[([^\]]*)\]", source).group(1)
    assert tuple(re.findall(r'"([^"]+)"', listed)) == EVENT_TYPES
