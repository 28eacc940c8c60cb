"""A local HTTP server that speaks Stripe's wire format for the endpoints the hub uses.

Threaded, on a free port of 127.0.0.1. It keeps objects per account (the
`Stripe-Account` header; no header = the platform account), serves lists the
way Stripe does (`object: "list"`, `data`, `has_more`, `url`; newest first;
`limit`, `starting_after`, `created[gte|gt|lt|lte]`, `payout`, `expand[]`),
retrieves single objects, creates customers (`POST /v1/customers`, with
`Idempotency-Key` replay), answers a bad key with 401 and an unknown object
with 404 (Stripe's `{"error": {type, code, message}}` bodies), and can be told
to fail the next requests with 429 + `Retry-After` or a 5xx.

Used by the payments tests, bench/reconcile.py and `make run` (scripts/dev_stripe.py).
"""
from __future__ import annotations

import bisect
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

LIST_PATHS = {"/v1/balance_transactions": "balance_transaction", "/v1/payouts": "payout"}
OBJECT_PATH = re.compile(r"^/v1/(charges|payment_intents|invoices|payouts|refunds|customers|"
                         r"balance_transactions)/([A-Za-z0-9_]+)$")
KIND_OF_PATH = {"charges": "charge", "payment_intents": "payment_intent", "invoices": "invoice",
                "payouts": "payout", "refunds": "refund", "customers": "customer",
                "balance_transactions": "balance_transaction"}


@dataclass
class _Listing:
    """Objects of one kind in one account, newest first, with an index for paging."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    keys: list[tuple[int, int]] = field(default_factory=list)   # (-created, seq), ascending
    position: dict[str, int] = field(default_factory=dict)
    dirty: bool = False

    def add(self, obj: dict[str, Any], seq: int) -> None:
        self.rows.append((obj, seq))  # type: ignore[arg-type]
        self.dirty = True

    def sorted(self) -> _Listing:
        if self.dirty:
            pairs = sorted(self.rows, key=lambda p: (-p[0]["created"], p[1]))  # type: ignore[index]
            self.rows = pairs
            self.keys = [(-o["created"], s) for o, s in pairs]  # type: ignore[misc]
            self.position = {o["id"]: i for i, (o, _s) in enumerate(pairs)}  # type: ignore[misc]
            self.dirty = False
        return self


@dataclass
class _Fault:
    status: int
    retry_after: float | None
    count: int


class FakeStripe:
    """The server's state and controls. `url` is what STRIPE_API_BASE should be."""

    def __init__(self, api_key: str = "sk_test_hub_fake") -> None:
        self.api_key = api_key
        self._objects: dict[tuple[str | None, str], dict[str, Any]] = {}
        self._lists: dict[tuple[str | None, str], _Listing] = {}
        self._by_payout: dict[tuple[str | None, str], _Listing] = {}
        self._faults: deque[_Fault] = deque()
        self._seq = 0
        self._lock = threading.Lock()
        self._json_cache: dict[tuple[str, bool], str] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path+query, account)
        self.request_count = 0
        self.keep_request_log = True
        self._created_by_key: dict[str, str] = {}  # Idempotency-Key -> response body
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- state -------------------------------------------------------------

    def put(self, obj: dict[str, Any], account: str | None = None) -> dict[str, Any]:
        """Add or replace an object (its `object` field says the kind)."""
        with self._lock:
            kind = obj["object"]
            key = (account, obj["id"])
            new = key not in self._objects
            self._objects[key] = obj
            self._json_cache.pop((obj["id"], False), None)
            self._json_cache.pop((obj["id"], True), None)
            if new and kind in ("balance_transaction", "payout"):
                self._seq += 1
                self._lists.setdefault((account, kind), _Listing()).add(obj, self._seq)
                if kind == "balance_transaction" and obj.get("_payout"):
                    self._by_payout.setdefault((account, obj["_payout"]), _Listing()).add(obj, self._seq)
        return obj

    def get(self, object_id: str, account: str | None = None) -> dict[str, Any] | None:
        return self._objects.get((account, object_id))

    def of_kind(self, kind: str, account: str | None = None) -> list[dict[str, Any]]:
        """Every object of one kind (`payout`, `customer`, ...) in one account."""
        with self._lock:
            return [o for (acct, _id), o in self._objects.items()
                    if acct == account and o["object"] == kind]

    def fail_next(self, status: int, count: int = 1, retry_after: float | None = None) -> None:
        """Answer the next `count` requests with this error status."""
        with self._lock:
            self._faults.append(_Fault(status, retry_after, count))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # --- serving ---------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self, port: int = 0) -> FakeStripe:
        """Serve on 127.0.0.1:`port` (0: a free one) in a background thread."""
        fake = self

        class Handler(_Handler):
            stripe = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-stripe",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the API ------------------------------------------------------------------

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.count -= 1
            if fault.count <= 0:
                self._faults.popleft()
            return fault

    def _json(self, obj: dict[str, Any], account: str | None, expand_source: bool) -> str:
        cache_key = (obj["id"], expand_source)
        cached = self._json_cache.get(cache_key)
        if cached is None:
            public = {k: v for k, v in obj.items() if not k.startswith("_")}
            if expand_source and isinstance(public.get("source"), str):
                source = self._objects.get((account, public["source"]))
                if source is not None:
                    public["source"] = {k: v for k, v in source.items() if not k.startswith("_")}
            cached = json.dumps(public, separators=(",", ":"))
            self._json_cache[cache_key] = cached
        return cached

    def handle(self, method: str, target: str, headers: Any, body: bytes = b""
               ) -> tuple[int, dict[str, str], str]:
        self.request_count += 1
        account = headers.get("Stripe-Account")
        if self.keep_request_log:
            self.requests.append((method, target, account))
        fault = self._next_fault()
        if fault is not None:
            return _error(fault.status, fault.retry_after)
        auth = headers.get("Authorization", "")
        if auth != f"Bearer {self.api_key}":
            return 401, {}, _error_body("invalid_request_error", "api_key_invalid",
                                        "Invalid API Key provided: sk_****")
        parts = urlsplit(target)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if method == "POST" and parts.path == "/v1/customers" and account is None:
            return self._create_customer(body.decode(), headers.get("Idempotency-Key"))
        if method != "GET":
            return 404, {}, _error_body("invalid_request_error", "resource_missing",
                                        f"Unrecognized request URL ({method}: {parts.path}).")
        if parts.path in LIST_PATHS:
            return self._list(parts.path, query, account)
        match = OBJECT_PATH.match(parts.path)
        if match:
            kind = KIND_OF_PATH[match.group(1)]
            obj = self._objects.get((account, match.group(2)))
            if obj is None or obj["object"] != kind:
                return 404, {}, _error_body("invalid_request_error", "resource_missing",
                                            f"No such {kind}: '{match.group(2)}'", param="id")
            expand = {v for k, v in query if k.startswith("expand")}
            public = {k: v for k, v in obj.items() if not k.startswith("_")}
            if kind == "invoice" and "payments" in expand:
                public["payments"] = {"object": "list", "data": obj.get("_payments", []),
                                      "has_more": False, "url": f"/v1/invoices/{obj['id']}/payments"}
            return 200, {}, json.dumps(public)
        return 404, {}, _error_body("invalid_request_error", "resource_missing",
                                    f"Unrecognized request URL (GET: {parts.path}).")

    def _create_customer(self, form: str, key: str | None) -> tuple[int, dict[str, str], str]:
        with self._lock:
            if key and key in self._created_by_key:
                return 200, {"Idempotent-Replayed": "true"}, self._created_by_key[key]
        fields = parse_qsl(form, keep_blank_values=True)
        metadata = {k[len("metadata["):-1]: v for k, v in fields if k.startswith("metadata[")}
        plain = {k: v for k, v in fields if "[" not in k}
        obj = self.put({"id": "cus_" + uuid.uuid4().hex[:14], "object": "customer",
                        "created": int(time.time()), "email": plain.get("email"),
                        "name": plain.get("name"), "description": plain.get("description"),
                        "currency": None, "livemode": False, "metadata": metadata, "delinquent": False})
        body = json.dumps(obj)
        if key:
            with self._lock:
                self._created_by_key[key] = body
        return 200, {}, body

    def _list(self, path: str, query: list[tuple[str, str]], account: str | None):
        kind = LIST_PATHS[path]
        args = dict(query)
        try:
            limit = int(args.get("limit", 10))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return 400, {}, _error_body("invalid_request_error", "parameter_invalid_integer",
                                        "Invalid integer: limit must be between 1 and 100", param="limit")
        expand_source = any(k.startswith("expand") and v == "data.source" for k, v in query)
        with self._lock:
            payout = args.get("payout")
            if payout and kind == "balance_transaction":
                listing = self._by_payout.get((account, payout), _Listing()).sorted()
                low, high = 0, len(listing.rows)
            else:
                listing = self._lists.get((account, kind), _Listing()).sorted()
                low, high = _created_bounds(listing, args)
            after = args.get("starting_after")
            if after:
                pos = listing.position.get(after)
                if pos is None:
                    return 400, {}, _error_body("invalid_request_error", "resource_missing",
                                                f"No such object: '{after}'", param="starting_after")
                low = max(low, pos + 1)
            page = [obj for obj, _seq in listing.rows[low:min(high, low + limit)]]
            has_more = low + limit < high
            data = ",".join(self._json(obj, account, expand_source) for obj in page)
        body = f'{{"object":"list","data":[{data}],"has_more":{"true" if has_more else "false"},' \
               f'"url":"{path}"}}'
        return 200, {}, body


def _created_bounds(listing: _Listing, args: dict[str, str]) -> tuple[int, int]:
    """Index range of rows whose `created` fits the created[...] filters (rows newest first)."""
    low, high = 0, len(listing.keys)
    if "created[lt]" in args:
        low = bisect.bisect_right(listing.keys, (-int(args["created[lt]"]), float("inf")))
    if "created[lte]" in args:
        low = max(low, bisect.bisect_left(listing.keys, (-int(args["created[lte]"]), -1)))
    if "created[gte]" in args:
        high = bisect.bisect_right(listing.keys, (-int(args["created[gte]"]), float("inf")))
    if "created[gt]" in args:
        high = min(high, bisect.bisect_left(listing.keys, (-int(args["created[gt]"]), -1)))
    return low, max(low, high)


def _error_body(type_: str, code: str | None, message: str, param: str | None = None) -> str:
    error: dict[str, Any] = {"type": type_, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return json.dumps({"error": error})


def _error(status: int, retry_after: float | None) -> tuple[int, dict[str, str], str]:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    if status == 429:
        return status, headers, _error_body("invalid_request_error", "rate_limit",
                                            "Too many requests hit the API too quickly.")
    if status == 401:
        return status, headers, _error_body("invalid_request_error", "api_key_invalid",
                                            "Invalid API Key provided.")
    return status, headers, _error_body("api_error", None, "Something went wrong on Stripe's end.")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the library's requests session expects
    stripe: FakeStripe

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self._serve("POST", self.rfile.read(length) if length else b"")

    def _serve(self, method: str, request_body: bytes = b"") -> None:
        status, headers, body = self.stripe.handle(method, self.path, self.headers, request_body)
        raw = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Request-Id", "req_" + uuid.uuid4().hex[:14])
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass  # quiet: tests read `requests` instead


# --- webhooks as Stripe sends them ------------------------------------------------

def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """`Stripe-Signature` as Stripe computes it: HMAC-SHA256 of "{t}.{payload}", hex, as v1."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event_body(event_type: str, obj: dict[str, Any], *, event_id: str | None = None,
               account: str | None = None, created: int | None = None) -> bytes:
    """A Stripe event (snapshot payload) as Stripe sends it."""
    event = {"id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event",
             "api_version": "2026-10-28.endive", "created": created or int(time.time()),
             "data": {"object": {k: v for k, v in obj.items() if not k.startswith("_")}},
             "livemode": False, "pending_webhooks": 1,
             "request": {"id": None, "idempotency_key": None}, "type": event_type}
    if account:
        event["account"] = account
    return json.dumps(event).encode()
