"""One scripted HTTP(S) server on loopback for every test that needs a peer over HTTP:
a webhook receiver, a connector's source, a Stripe-like list API, a slow or hostile host.

It records every request, and answers each from, in order: the answers scripted
for its path (`script`), else `respond` (a fixed answer, or a function of the
request). An answer is a status code, an `Answer`, or a dict with `status`,
`headers`, `body` and `delay`; any other dict or list is a 200 with that JSON body.
A `respond` function that raises answers 500 with the error, kept in `errors`.
"""
from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    target: str                      # as sent: path and query
    headers: dict[str, str]          # lower-case names, one value each
    body: bytes
    header_lines: list[tuple[str, str]] = field(default_factory=list)  # repeats kept
    at: float = field(default_factory=time.monotonic)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, [default])[0]

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.header_lines if k.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


_SPEC_KEYS = {"status", "body", "headers", "delay"}


@dataclass
class Answer:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def of(cls, value: Any) -> Answer:
        if isinstance(value, Answer):
            return value
        if isinstance(value, int):
            return cls(value)
        if isinstance(value, dict) and "status" in value and set(value) <= _SPEC_KEYS:
            return cls(**value)
        return cls(200, value)  # a JSON body

    def payload(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        return body, headers


class FakeHTTPServer:
    """A threaded HTTP server on `host` (IPv4 or IPv6 loopback), TLS when given a context."""

    def __init__(self, respond: Any = 200, *, host: str = "127.0.0.1",
                 tls: ssl.SSLContext | None = None) -> None:
        self.respond: Any = respond
        self.received: list[Request] = []
        self.errors: list[Exception] = []
        self.lock = threading.Lock()
        self._scripts: dict[str, list[Any]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                  body, header_lines=list(self.headers.items()))
                with fake.lock:
                    fake.received.append(request)
                    scripted = fake._scripts.get(request.path)
                    answer = scripted.pop(0) if scripted else None
                try:
                    if answer is None:
                        answer = fake.respond(request) if callable(fake.respond) else fake.respond
                    answer = Answer.of(answer)
                except Exception as exc:  # noqa: BLE001 - a broken script shows up as a 500
                    fake.errors.append(exc)
                    answer = Answer(500, f"the fake's script failed: {exc!r}")
                if answer.delay:
                    time.sleep(answer.delay)
                payload, headers = answer.payload()
                try:
                    self.send_response(answer.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout and size-cap tests)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up early

        self.httpd = Server((host, 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.host = host
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls is not None else "http"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"

    def script(self, path: str, *answers: Any) -> None:
        """Answer the next requests to `path` (no query) with `answers`, in order."""
        with self.lock:
            self._scripts[path] = list(answers)

    def requests(self, path: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.received if path is None or r.path == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeHTTPServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

