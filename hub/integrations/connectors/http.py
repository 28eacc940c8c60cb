"""HTTP for connectors: the SSRF-guarded outbound client plus retries, backoff and rate limits.

- 5xx answers and network errors are retried a few times with exponential backoff;
- 429 (and 503 with Retry-After) waits as the source asks when that is short,
  and otherwise raises `TemporaryFailure(retry_after=...)` so the sync engine parks
  the job for that long instead of holding a worker;
- 401/403 raise `AuthFailed` at once: retrying bad credentials only locks accounts.

Plain values in and out: no settings, models or Flask here.
"""
from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from hub.integrations import http as outbound

MAX_RETRY_AFTER = 24 * 3600.0


class ConnectorError(Exception):
    """The source or the connection's config is wrong in a way retrying will not fix."""


class AuthFailed(ConnectorError):
    """The source refused the credentials (401/403)."""


class TemporaryFailure(Exception):
    """The source is unavailable or rate limiting; worth trying again after `retry_after`."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped at a day."""
    if not value:
        return None
    value = value.strip()
    try:
        if value.replace(".", "", 1).isdigit():
            seconds = float(value)
        else:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
    except (TypeError, ValueError, OverflowError):
        return None
    return max(0.0, min(MAX_RETRY_AFTER, seconds))


class HttpClient:
    """Requests to a source, through `hub.integrations.http` (the SSRF guard)."""

    def __init__(self, *, allow_private: bool = False, timeout: float = 30.0, retries: int = 3,
                 backoff: float = 1.0, max_inline_wait: float = 10.0,
                 max_response_bytes: int = 16 * 1024 * 1024,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_inline_wait = max_inline_wait
        self.max_response_bytes = max_response_bytes
        self.sleep = sleep
        self.requests_sent = 0

    def request(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, body: bytes | None = None,
                accept_statuses: Callable[[int], bool] | None = None) -> outbound.OutboundResponse:
        """One logical request, retried as the module docstring says; returns a 2xx-4xx answer.

        Raises AuthFailed (401/403), TemporaryFailure (retries used up, or a long
        Retry-After) or ConnectorError (the URL is refused, or another 4xx unless
        `accept_statuses` takes it).
        """
        if params:
            url = url + ("&" if urlsplit(url).query else "?") + urlencode(params, doseq=True)
        host = urlsplit(url).hostname or "the source"
        failures = 0
        while True:
            try:
                self.requests_sent += 1
                response = outbound.request(method, url, headers=headers, body=body,
                                            timeout=self.timeout, allow_private=self.allow_private,
                                            max_response_bytes=self.max_response_bytes,
                                            integration="connector")
            except outbound.OutboundRefused as exc:
                raise ConnectorError(f"the URL is not allowed: {exc}") from None
            except outbound.OutboundError as exc:
                failures += 1
                if failures > self.retries:
                    raise TemporaryFailure(f"{host} unreachable ({exc.kind}: {exc.message})") from None
                self.sleep(self._backoff(failures))
                continue
            status = response.status
            if status in (401, 403):
                raise AuthFailed(f"{host} refused the credentials (HTTP {status})")
            if status == 429 or status >= 500:
                failures += 1
                wait = parse_retry_after(response.headers.get("retry-after"))
                if wait is not None and wait > self.max_inline_wait:
                    raise TemporaryFailure(f"{host} asked to wait {wait:g} s (HTTP {status})",
                                           retry_after=wait)
                if failures > self.retries:
                    raise TemporaryFailure(f"{host} kept failing (HTTP {status})", retry_after=wait)
                self.sleep(wait if wait is not None else self._backoff(failures))
                continue
            if status >= 400 and not (accept_statuses and accept_statuses(status)):
                raise ConnectorError(f"{host} answered HTTP {status}")
            if response.truncated:
                raise ConnectorError(f"{host} sent more than {self.max_response_bytes} bytes")
            return response

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> Any:
        """GET and decode a JSON body; ConnectorError if it is not JSON."""
        response = self.request("GET", url, params=params,
                                headers={"Accept": "application/json", **(headers or {})})
        try:
            return json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            raise ConnectorError(f"{urlsplit(url).hostname} did not answer with JSON") from None

    def _backoff(self, failures: int) -> float:
        return self.backoff * 2 ** (failures - 1) * random.uniform(0.8, 1.2)
