"""gunicorn and the hub: its own refusals in the envelope.

What gunicorn answers itself, before a request reaches Flask, is in the hub's envelope.

gunicorn refuses a request it cannot parse or that is over its limits (a
request line over `limit_request_line` → 414, too many or too large headers →
431, a malformed request → 400) with a small HTML page. Clients of the hub
expect the JSON error envelope on every answer, so `gunicorn.conf.py` installs
`write_error` in place of gunicorn's. gunicorn still decides the status and
closes the connection; only the body changes. The parser's message (which can
quote the refused input) goes to gunicorn's log, not to the client.
"""
from __future__ import annotations

import json
import logging
import uuid

from gunicorn import util

from hub.web.errors import CODES, MESSAGES

log = logging.getLogger(__name__)


def error_body(status: int, request_id: str) -> bytes:
    """The error envelope for a request gunicorn refused, as JSON bytes."""
    return json.dumps({
        "success": False, "error": True,
        "code": CODES.get(status, "BAD_REQUEST"),
        "message": MESSAGES.get(status, "The request was refused."),
        "details": {},
        "meta": {"request_id": request_id},
    }).encode()


def write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's `util.write_error`, answering the envelope instead of HTML."""
    request_id = uuid.uuid4().hex
    body = error_body(status_int, request_id)
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Content-Type-Options: nosniff\r\nX-Request-ID: {request_id}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    """Make gunicorn's own refusals use the envelope (called from gunicorn.conf.py)."""
    util.write_error = write_error
