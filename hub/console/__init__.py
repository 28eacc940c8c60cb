"""The browser console: a static single-page app served at /console.

The page is plain HTML, CSS and ES modules under `static/` (no build step, no
CDN: it works offline). It talks to the hub only through the public API
(/api/v1, the JSON envelope) and Socket.IO; the one thing it needs that the
API does not say is where Flower is, which `GET /console/config` tells staff.

Every response of this blueprint carries a strict Content-Security-Policy:
scripts, styles, images and connections from this origin only (plus the
realtime server's origin, and blob: images: file thumbnails are fetched with
the token and shown from a blob: URL), no inline code, no framing.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, request, send_from_directory
from werkzeug.wrappers import Response

from hub.api.access import auth_required, current_principal
from hub.api.realtime.routes import realtime_url
from hub.config import ConfigError
from hub.extensions import limiter
from hub.web.envelope import set_message, success_body

STATIC_DIR = Path(__file__).resolve().parent / "static"

bp = Blueprint("console", __name__, url_prefix="/console", static_folder="static",
               static_url_path="/static")
# A page load fetches a dozen static files; they cost nothing and must not eat
# the API's per-IP budget. /console/config is authenticated and trivial.
limiter.exempt(bp)

# Host names and ports only; anything else (a forged Host header) gets no
# explicit WebSocket source, and CSP Level 3's 'self' still covers it.
_SAFE_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def _origins(scheme: str, netloc: str) -> list[str]:
    """The http(s) and ws(s) sources of one host, if its name is a plain host[:port]."""
    if not _SAFE_HOST.match(netloc):
        return []
    secure = scheme == "https"
    return [f"{'https' if secure else 'http'}://{netloc}", f"{'wss' if secure else 'ws'}://{netloc}"]


def content_security_policy() -> str:
    """The console's CSP: only this origin, and the realtime server (GET /api/v1/realtime)."""
    connect = ["'self'"]
    # Older browsers do not let 'self' match ws(s):// (CSP Level 2), so name it.
    connect += _origins(request.scheme, request.host)[1:]
    realtime = urlsplit(realtime_url())
    if realtime.scheme in ("http", "https"):
        connect += _origins(realtime.scheme, realtime.netloc)
    return "; ".join((
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",  # blob: thumbnails fetched with the token
        "font-src 'self'",
        f"connect-src {' '.join(connect)}",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.route("", strict_slashes=False)
def index() -> Response:
    """The console page. Screens live behind `#/...` so one URL serves them all."""
    response = send_from_directory(STATIC_DIR, "index.html", max_age=0)
    # Always revalidate so a deploy's new module list reaches the browser.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/config")
@auth_required(allow_api_key=False)
def config() -> Response:
    """What the console needs to know besides the API: Flower's URL, for staff only."""
    principal = current_principal()
    data: dict[str, Any] = {
        "flower_url": current_app.config["FLOWER_URL"] if principal.is_staff else None,
    }
    set_message("Console settings.")
    return jsonify(success_body(data))


def register_console(app: Flask) -> None:
    """Serve the console at /console; refuse a FLOWER_URL that is not a web address."""
    flower_url = app.config["FLOWER_URL"]
    if urlsplit(flower_url).scheme not in ("http", "https") or not urlsplit(flower_url).netloc:
        raise ConfigError(f"FLOWER_URL must be an http(s) URL, not {flower_url!r}")
    app.register_blueprint(bp)
