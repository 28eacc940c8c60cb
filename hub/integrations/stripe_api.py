"""Stripe, through the official `stripe` library: plain values in, plain values out.

Every call builds (or reuses) a `stripe.StripeClient` for the given settings,
so the API key and base address are per client, never module globals shared
with anything else in the process. `STRIPE_API_BASE` points the library at
another server (tests, staging). Library errors are translated into the few
kinds the hub acts on: `StripeAuthError` (bad key: do not retry),
`StripeTemporaryError` (rate limit, 5xx, network: retry later, with the
server's `Retry-After` when it sent one), `StripeRequestError` (anything else
the server refused: do not retry).

Imports nothing from models, services or the API (see docs/DEVELOPING.md).
"""
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import stripe

from hub.telemetry import integration_call

DEFAULT_API_BASE = "https://api.stripe.com"
WEBHOOK_TOLERANCE = 300  # seconds; Stripe's own default
PAGE_SIZE = 100          # the largest page Stripe serves

# Objects the hub re-reads when an event arrives: event object type -> client service name.
RETRIEVABLE = {
    "charge": "charges",
    "payment_intent": "payment_intents",
    "invoice": "invoices",
    "payout": "payouts",
    "refund": "refunds",
    "customer": "customers",
}


@dataclass(frozen=True)
class StripeSettings:
    api_key: str
    api_base: str = DEFAULT_API_BASE
    max_network_retries: int = 2
    timeout: float = 30.0


class StripeError(Exception):
    """Something went wrong talking to Stripe; `message` is safe to show."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class StripeAuthError(StripeError):
    """The API key was refused (401/403): retrying will not help."""


class StripeTemporaryError(StripeError):
    """Rate limited, a 5xx or a network failure that outlasted the library's own retries."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class StripeRequestError(StripeError):
    """Stripe refused the request itself (e.g. 404 for an unknown object)."""


class SignatureError(Exception):
    """A webhook's `Stripe-Signature` is missing, wrong or too old, or its body is not JSON."""


class MalformedEventError(Exception):
    """A correctly signed body that is not a well-formed Stripe event (wrong types, NUL in an
    id, NaN, absurd nesting): refused before anything is stored or routed."""


# --- clients ------------------------------------------------------------------

_clients: dict[StripeSettings, stripe.StripeClient] = {}
_clients_lock = threading.Lock()


class DeadlineRequestsClient(stripe.RequestsClient):
    """The library's requests client, with `timeout` bounding the whole response.

    requests' own timeout is per socket read, so a server that drips its body a
    byte at a time would hold the worker as long as it liked. The body is read
    with one socket read per step (`read1`) and the deadline checked between them;
    the keep-alive session (one TLS handshake per worker, not per page) stays.
    """

    name = "requests-deadline"

    def request(self, method: str, url: str, headers: Any, post_data: Any = None
                ) -> tuple[bytes, int, Any]:
        with integration_call("stripe", method.upper(), **{"url.path": urlsplit(url).path}) as call:
            body, status, response_headers = self._request_by_deadline(method, url, headers, post_data)
            call.answered(status)
            return body, status, response_headers

    def _request_by_deadline(self, method: str, url: str, headers: Any,
                             post_data: Any) -> tuple[bytes, int, Any]:
        deadline = time.monotonic() + self._timeout
        raw, status, response_headers = self._request_internal(method, url, headers, post_data,
                                                               is_streaming=True)
        body = bytearray()
        try:
            while chunk := raw.read1(65536, decode_content=True):
                body += chunk
                if time.monotonic() > deadline:
                    raw.close()
                    raise self.requests.exceptions.ReadTimeout(
                        f"Stripe's response took longer than {self._timeout} s")
        except Exception as exc:  # noqa: BLE001 - the library classifies (retry or not)
            raw.close()
            self._handle_request_error(exc)
        raw.release_conn()
        return bytes(body), status, response_headers


def client(settings: StripeSettings) -> stripe.StripeClient:
    """A StripeClient for these settings (cached: it holds a keep-alive HTTP session)."""
    with _clients_lock:
        found = _clients.get(settings)
        if found is None:
            found = stripe.StripeClient(
                settings.api_key,
                base_addresses={"api": settings.api_base.rstrip("/")},
                max_network_retries=settings.max_network_retries,
                http_client=DeadlineRequestsClient(timeout=settings.timeout),
            )
            _clients[settings] = found
        return found


def _options(account: str | None) -> dict[str, Any] | None:
    return {"stripe_account": account} if account else None


def _retry_after(headers: Any) -> float | None:
    try:
        value = (headers or {}).get("retry-after") or (headers or {}).get("Retry-After")
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def translate(exc: stripe.StripeError) -> StripeError:
    """Map a library error to the hub's kinds. The message never carries the key."""
    status = exc.http_status
    code = getattr(exc, "code", None)
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)) or status in (401, 403):
        return StripeAuthError("Stripe refused the API key (check STRIPE_API_KEY).",
                               status=status, code=code or "authentication_error")
    if isinstance(exc, stripe.RateLimitError) or status == 429:
        return StripeTemporaryError("Stripe rate limit reached.", status=status, code=code or "rate_limit",
                                    retry_after=_retry_after(exc.headers))
    if isinstance(exc, stripe.APIConnectionError):
        return StripeTemporaryError("Could not reach Stripe.", code="connection_error")
    if status is None or status >= 500 or status == 409:
        return StripeTemporaryError(f"Stripe answered {status or 'with an error'}.", status=status,
                                    code=code or "api_error", retry_after=_retry_after(exc.headers))
    return StripeRequestError(exc.user_message or f"Stripe refused the request ({status}).",
                              status=status, code=code)


# --- webhooks -------------------------------------------------------------------

def verify_webhook(payload: bytes, signature: str | None, secret: str,
                   tolerance: int = WEBHOOK_TOLERANCE) -> dict[str, Any]:
    """Check `Stripe-Signature` over the raw body and return the event as a dict.

    Raises SignatureError for a missing, malformed, wrong or stale signature and
    for a body that is not a JSON event.
    """
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise SignatureError(str(exc).split(". ")[0]) from None
    except UnicodeDecodeError:
        raise SignatureError("The body is not UTF-8.") from None
    try:
        event = json.loads(payload, parse_constant=_not_a_number)
    except RecursionError:
        raise MalformedEventError("The event is nested too deep.") from None
    except ValueError:
        raise SignatureError("The body is not JSON.") from None
    if not isinstance(event, dict) or event.get("object") != "event" or not event.get("id"):
        raise SignatureError("The body is not a Stripe event.")
    check_event_shape(event)
    return event


_EVENT_ID = re.compile(r"^[A-Za-z0-9_]{1,255}$")
_EVENT_TYPE = re.compile(r"^[a-z0-9_.]{1,100}$")
_ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9]{1,250}$")
_OBJECT_WORD = re.compile(r"^[A-Za-z0-9_.]{1,255}$")


def _not_a_number(name: str) -> Any:
    raise MalformedEventError(f"{name} is not a JSON number.")


def check_event_shape(event: dict[str, Any]) -> None:
    """The fields the hub stores and routes by have Stripe's types and forms, or
    MalformedEventError names the first that does not."""
    def bad(field: str) -> MalformedEventError:
        return MalformedEventError(f"The event's {field} is not what Stripe sends.")

    if not isinstance(event.get("id"), str) or not _EVENT_ID.match(event["id"]):
        raise bad("id")
    if not isinstance(event.get("type"), str) or not _EVENT_TYPE.match(event["type"]):
        raise bad("type")
    account = event.get("account")
    if account is not None and not (isinstance(account, str) and _ACCOUNT_ID.match(account)):
        raise bad("account")
    created = event.get("created")
    if created is not None and (not isinstance(created, int) or isinstance(created, bool)
                                or not 0 <= created < 2**37):
        raise bad("created")
    if not isinstance(event.get("livemode", False), bool):
        raise bad("livemode")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise bad("data.object")
    for name in ("id", "object"):
        value = data["object"].get(name)
        if value is not None and not (isinstance(value, str) and _OBJECT_WORD.match(value)):
            raise bad(f"data.object.{name}")
    customer = data["object"].get("customer")
    if customer is not None and not isinstance(customer, (str, dict)):
        raise bad("data.object.customer")


# --- reading objects ------------------------------------------------------------------

def retrieve(settings: StripeSettings, object_type: str, object_id: str, *,
             account: str | None = None, expand: list[str] | None = None) -> dict[str, Any]:
    """The current state of one object (charge, payment_intent, invoice, payout, refund, customer)."""
    service_name = RETRIEVABLE.get(object_type)
    if service_name is None:
        raise StripeRequestError(f"The hub does not read {object_type} objects.")
    service = getattr(client(settings).v1, service_name)
    params = {"expand": expand} if expand else None
    try:
        return service.retrieve(object_id, params=params, options=_options(account)).to_dict()
    except stripe.StripeError as exc:
        raise translate(exc) from None


def create_customer(settings: StripeSettings, *, metadata: dict[str, str], name: str | None = None,
                    email: str | None = None, description: str | None = None,
                    idempotency_key: str | None = None) -> dict[str, Any]:
    """Create a customer on the platform account; Stripe replays the first answer for a
    repeated `idempotency_key`, so a retried request never makes a second customer."""
    params: dict[str, Any] = {"metadata": metadata}
    params.update({k: v for k, v in (("name", name), ("email", email), ("description", description))
                   if v is not None})
    options = {"idempotency_key": idempotency_key} if idempotency_key else None
    try:
        return client(settings).v1.customers.create(params=params, options=options).to_dict()
    except stripe.StripeError as exc:
        raise translate(exc) from None


def _plain(value: Any) -> Any:
    """A library object as a dict, one level deep (cheap: no recursion)."""
    return value.to_dict(recursive=False) if isinstance(value, stripe.StripeObject) else value


def _id(value: Any) -> str | None:
    """An id whether the field is expanded or not."""
    if value is None or isinstance(value, str):
        return value
    return _plain(value).get("id")


def flatten_balance_transaction(bt: Any) -> dict[str, Any]:
    """The fields reconciliation needs, from a balance transaction with `source` expanded."""
    bt = _plain(bt)
    source = _plain(bt.get("source"))
    out = {
        "id": bt["id"], "type": bt.get("type"), "amount": bt.get("amount") or 0,
        "fee": bt.get("fee") or 0, "net": bt.get("net") or 0, "currency": bt.get("currency"),
        "created": bt.get("created") or 0, "status": bt.get("status"),
        "reporting_category": bt.get("reporting_category"),
        "source": _id(source), "charge": None, "payment_intent": None, "invoice": None,
        "customer": None, "hub_invoice_id": None,
    }
    if source is not None and not isinstance(source, str):
        kind = source.get("object")
        out["payment_intent"] = _id(source.get("payment_intent"))
        out["customer"] = _id(source.get("customer"))
        out["invoice"] = _id(source.get("invoice"))  # older API versions still carry it
        metadata = _plain(source.get("metadata")) or {}
        out["hub_invoice_id"] = metadata.get("hub_invoice_id")
        out["charge"] = source.get("id") if kind == "charge" else _id(source.get("charge"))
    elif isinstance(source, str) and source.startswith(("ch_", "py_")):
        out["charge"] = source
    return out


def iter_balance_transactions(settings: StripeSettings, created_from: int, created_to: int, *,
                              account: str | None = None, payout: str | None = None,
                              on_page: Callable[[int, int], None] | None = None,
                              page_size: int = PAGE_SIZE,
                              as_objects: bool = False) -> Iterator[dict[str, Any]]:
    """Balance transactions created in [created_from, created_to), newest first, flattened.

    One page is held at a time. `on_page(rows_so_far, created_of_last_row)` is
    called after each page. With `payout`, only the transactions that payout
    settled (Stripe ignores `created` then, so it is not sent).

    By default pages are fetched through the client's `raw_request` and read as
    plain JSON: the library's auto-pagination (`as_objects=True`) builds a
    StripeObject for every nested dict, about 2 ms per transaction with its
    charge expanded, which alone would take minutes for a busy month
    (bench/reconcile.py measures both). Same client, key, base address, API
    version, retries and error types either way.
    """
    params: dict[str, Any] = {"limit": page_size, "expand": ["data.source"]}
    if payout:
        params["payout"] = payout
    else:
        params["created"] = {"gte": int(created_from), "lt": int(created_to)}
    if as_objects:
        yield from _paged(client(settings).v1.balance_transactions, params, account,
                          flatten_balance_transaction, on_page, page_size)
    else:
        yield from _paged_raw(settings, "/v1/balance_transactions", params, account,
                              flatten_balance_transaction, on_page)


def _paged_raw(settings: StripeSettings, path: str, params: dict[str, Any], account: str | None,
               flatten: Callable[[Any], dict[str, Any]],
               on_page: Callable[[int, int], None] | None) -> Iterator[dict[str, Any]]:
    """Stripe's list pagination (`has_more` + `starting_after`) over plain JSON pages."""
    stripe_client = client(settings)
    rows, after = 0, None
    while True:
        query = dict(params)
        if after:
            query["starting_after"] = after
        if account:
            query["stripe_account"] = account
        try:
            page = stripe_client.raw_request("get", path, **query).data
        except stripe.StripeError as exc:
            raise translate(exc) from None
        data = page.get("data") or []
        last = None
        for item in data:
            last = flatten(item)
            rows += 1
            yield last
        if on_page is not None and data:
            on_page(rows, last.get("created") or 0)
        if not page.get("has_more") or not data:
            return
        after = data[-1]["id"]


def flatten_payout(po: Any) -> dict[str, Any]:
    po = _plain(po)
    return {"id": po["id"], "amount": po.get("amount") or 0, "currency": po.get("currency"),
            "status": po.get("status"), "created": po.get("created") or 0,
            "arrival_date": po.get("arrival_date"), "failure_code": po.get("failure_code"),
            "reconciliation_status": po.get("reconciliation_status")}


def iter_payouts(settings: StripeSettings, created_from: int, created_to: int, *,
                 account: str | None = None, page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
    """Payouts created in [created_from, created_to), newest first, flattened."""
    params = {"limit": page_size, "created": {"gte": int(created_from), "lt": int(created_to)}}
    yield from _paged(client(settings).v1.payouts, params, account, flatten_payout, None, page_size)


def _paged(service: Any, params: dict[str, Any], account: str | None,
           flatten: Callable[[Any], dict[str, Any]], on_page: Callable[[int, int], None] | None,
           page_size: int) -> Iterator[dict[str, Any]]:
    rows = 0
    try:
        first = service.list(params=params, options=_options(account))
        for item in first.auto_paging_iter():
            row = flatten(item)
            rows += 1
            yield row
            if on_page is not None and rows % page_size == 0:
                on_page(rows, row.get("created") or 0)
    except stripe.StripeError as exc:
        raise translate(exc) from None
    if on_page is not None and rows % page_size:
        on_page(rows, 0)
