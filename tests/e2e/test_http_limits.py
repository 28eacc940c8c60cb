"""The HTTP server's own limits: every documented request fits, and what does not
is refused in the error envelope, not gunicorn's HTML page."""
from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

pytestmark = pytest.mark.e2e

REQUEST_LINE_LIMIT = 8190  # gunicorn.conf.py limit_request_line
# The longest text one value of each kind can be once percent-encoded.
FORMAT_LENGTHS = {"uuid": 36, "date-time": 40, "date": 10}
WORST_CHAR = 12  # a 4-byte UTF-8 character is %XX four times


def _longest_value(schema: dict, name: str) -> int:
    if "enum" in schema:
        return max(len(str(value)) for value in schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        if "maxLength" in schema:
            return schema["maxLength"] * WORST_CHAR
        assert schema.get("format") in FORMAT_LENGTHS, f"query parameter {name!r} has no length bound"
        return FORMAT_LENGTHS[schema["format"]]
    if kind == "integer":
        return len(str(schema.get("maximum", 2**63)))
    if kind == "boolean":
        return len("false")
    raise AssertionError(f"no length rule for parameter {name!r}: {schema}")


def test_every_documented_request_line_fits_the_server_limit(client):
    """The longest request line each operation documents (each string at its maxLength in
    4-byte characters, percent-encoded) is under gunicorn's limit: a valid request is
    never a 414."""
    document = client.get("/openapi.json").get_json()
    longest = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            parameters = item.get("parameters", []) + operation.get("parameters", [])
            target = path
            for param in parameters:
                if param["in"] == "path":
                    target = target.replace("{" + param["name"] + "}",
                                            "x" * _longest_value(param["schema"], param["name"]))
            query = [(p["name"], _longest_value(p["schema"], p["name"]))
                     for p in parameters if p["in"] == "query"]
            target += "?" + "&".join(name + "=" + "x" * size for name, size in query) if query else ""
            longest[f"{method.upper()} {path}"] = len(f"{method.upper()} {target} HTTP/1.1")
    assert longest, "the document lists no operations"
    assert max(longest.values()) <= REQUEST_LINE_LIMIT, sorted(longest.items(), key=lambda i: -i[1])[:3]


def _envelope(resp: requests.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["success"] is False and body["error"] is True and body["code"] == code
    assert body["message"] and body["meta"]["request_id"] == resp.headers["X-Request-ID"]
    assert "<html" not in resp.text
    return body


def test_server_refusals_are_envelopes(live_server, register):
    owner = register()
    # A documented query at its longest: 200 non-ASCII characters, 2,400 bytes encoded.
    longest_ref = "\U0001F600" * 200
    resp = requests.get(live_server + "/api/v1/invoices", params={"customer_ref": longest_ref},
                        headers=owner.headers, timeout=10)
    assert resp.status_code == 200, resp.text[:300]
    assert resp.json()["data"] == []
    # Twice too long, 4,800 bytes encoded: past gunicorn's default line limit, but the hub
    # itself answers, with the field that is wrong.
    resp = requests.get(live_server + "/api/v1/invoices", params={"customer_ref": longest_ref * 2},
                        headers=owner.headers, timeout=10)
    body = _envelope(resp, 422, "VALIDATION_ERROR")
    assert "customer_ref" in body["details"]["fields"]["query"]

    # Past the request-line limit: 414, in the envelope, before the hub sees it.
    resp = requests.get(live_server + "/api/v1/invoices", params={"customer_ref": "x" * 9000},
                        headers=owner.headers, timeout=10)
    _envelope(resp, 414, "URI_TOO_LONG")
    assert "x" * 100 not in resp.text  # the refused input is not echoed

    # A header over gunicorn's field size: 431.
    resp = requests.get(live_server + "/api/v1/jobs", timeout=10,
                        headers={**owner.headers, "X-Padding": "y" * 9000})
    _envelope(resp, 431, "HEADERS_TOO_LARGE")

    # Not HTTP at all: 400.
    url = urlsplit(live_server)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(b"NOT A REQUEST LINE\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["code"] == "BAD_REQUEST"
