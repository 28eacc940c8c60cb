"""Security headers on every response, and CORS only for configured origins.

The console blueprint sets its own, stricter page CSP first; these are
defaults (`setdefault`), so they never overwrite it. API responses carry
tokens, keys and tenant data: they must not be cached by browsers or shared
proxies, sniffed into another content type, or framed.

CORS: none by default (the console is same-origin). `CORS_ORIGINS` lists
exact origins (`https://app.example.com`) allowed to call /api/v1 from a
browser; any other origin gets no CORS headers, so the browser refuses to hand
it the response. Credentials are never allowed: the API authenticates with
bearer tokens and API keys, not cookies.
"""
from __future__ import annotations

from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

API_PREFIX = "/api/"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-API-Key, X-Request-ID"
CORS_EXPOSE_HEADERS = ("X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, "
                       "RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset")
CORS_MAX_AGE = "600"
# Retry-After means "come back later": it belongs on refusals a client should retry.
RETRY_AFTER_STATUSES = frozenset({429, 503})


def parse_origins(value: str | None) -> list[str]:
    """`CORS_ORIGINS`: comma-separated exact origins, without trailing slashes."""
    return [o.strip().rstrip("/") for o in (value or "").split(",") if o.strip()]


def _add_cors(response: Response) -> None:
    origin = request.headers.get("Origin")
    if not origin or origin not in current_app.config.get("CORS_ORIGIN_LIST", ()):
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers.add("Vary", "Origin")
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
        response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.status_code not in RETRY_AFTER_STATUSES:
        # Flask-Limiter puts one on every response it counts, a 200 included.
        headers.pop("Retry-After", None)
    if request.path.startswith(API_PREFIX):
        # A JSON API has nothing to load or embed; a response rendered as a page loads nothing.
        headers.setdefault("Content-Security-Policy", API_CSP)
        headers["Cache-Control"] = "no-store"
        _add_cors(response)
    return response


def init_security_headers(app: Flask) -> None:
    """Register the after-request hook and parse `CORS_ORIGINS` once.

    Registered before Flask-Limiter (hub.register_extensions): after-request hooks run
    in reverse order, so this one sees the limiter's headers and can drop Retry-After.
    """
    app.config["CORS_ORIGIN_LIST"] = parse_origins(app.config.get("CORS_ORIGINS"))
    app.after_request(_security_headers)



def socket_origin_check(app: Flask) -> Callable[[str | None, dict], bool]:
    """Engine.IO's origin check for the realtime server: a page served from this host
    name (any scheme or port: the console comes from the API's port, and a TLS proxy may
    sit in front) or from a configured `CORS_ORIGINS` entry; other sites' pages cannot
    connect. Engine.IO calls it outside any app context, hence the closure."""
    allowed = tuple(parse_origins(app.config.get("CORS_ORIGINS")))

    def check(origin: str | None, environ: dict) -> bool:
        if not origin:
            return True  # not a browser: nothing cross-site to guard against
        host = urlsplit("//" + environ.get("HTTP_HOST", "")).hostname
        if host and urlsplit(origin).hostname == host:
            return True
        return origin.rstrip("/") in allowed

    return check
