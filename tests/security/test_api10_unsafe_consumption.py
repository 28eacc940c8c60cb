"""API10:2023 Unsafe Consumption of APIs: a third party that never answers, answers a byte
at a time, or answers too much cannot hold a worker; its answer is classified, not trusted.

The full path (a receiver that stalls → the attempt times out → the retry is delivered) runs
with a real worker in tests/webhooks/test_delivery_e2e.py
(test_slow_receiver_times_out_and_the_retry_gets_through).
"""
from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest

from hub.integrations import http as outbound
from hub.services.webhooks.delivery import _send

ROOT = Path(__file__).resolve().parents[2]


class Peer:
    """A TCP server on loopback that misbehaves as told: "silent" reads and never answers,
    "trickle" sends a valid response head then one body byte every 0.2 s forever."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                if self.mode == "trickle":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not self.stop.wait(0.2):
                    if self.mode == "trickle":
                        conn.sendall(b"x")
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture(params=["silent", "trickle"])
def peer(request):
    p = Peer(request.param)
    yield p
    p.close()


def test_a_stalling_peer_is_a_timeout_within_the_deadline(peer):
    started = time.monotonic()
    with pytest.raises(outbound.OutboundError) as caught:
        outbound.request("POST", f"http://127.0.0.1:{peer.port}/hook", body=b"{}", timeout=1.0,
                         allow_private=True)
    elapsed = time.monotonic() - started
    assert caught.value.kind == "timeout"
    assert elapsed < 15  # bounded by the deadline, not by the peer (generous for a loaded machine)


def test_a_webhook_attempt_to_a_stalling_peer_is_a_retry(peer):
    config = {"WEBHOOK_TIMEOUT_SECONDS": 1.0, "OUTBOUND_ALLOW_PRIVATE": True, "HUB_ENV": "testing"}
    result, _duration, _text = _send(f"http://127.0.0.1:{peer.port}/hook", {}, b"{}", config)
    assert result.outcome == "retry" and result.retryable, result
    assert "timeout" in result.error


def test_every_outbound_call_in_the_hub_goes_through_a_timeout():
    """No raw HTTP client in the hub: the guarded adapter (deadline, SSRF check, size cap) or
    SMTP with MAIL_TIMEOUT. A new integration (S3, Stripe) must pass an explicit timeout."""
    offenders = []
    for path in (ROOT / "hub").rglob("*.py"):
        text = path.read_text()
        if path.relative_to(ROOT).as_posix() == "hub/integrations/http.py":
            continue
        if re.search(r"^\s*(import requests|from requests|import httpx|from urllib\.request)", text, re.M):
            offenders.append(str(path))
    assert offenders == []
    assert 0 < outbound.DEFAULT_TIMEOUT <= 60
    assert 'timeout=cfg["MAIL_TIMEOUT"]' in (ROOT / "hub" / "services" / "email" / "__init__.py").read_text()


def test_a_stalling_stripe_is_a_temporary_error_within_its_timeout(peer):
    """The stripe library is given STRIPE_TIMEOUT_SECONDS; a Stripe that never answers (or
    drips) becomes a retryable error for the job, not a held worker."""
    from hub.integrations import stripe_api

    settings = stripe_api.StripeSettings(api_key="sk_test_" + "x" * 24, max_network_retries=0,
                                         api_base=f"http://127.0.0.1:{peer.port}", timeout=1.0)
    started = time.monotonic()
    with pytest.raises(stripe_api.StripeTemporaryError):
        stripe_api.retrieve(settings, "charge", "ch_1")
    assert time.monotonic() - started < 15


def test_s3_clients_have_explicit_timeouts_and_bounded_retries():
    """boto3's defaults are 60 s connect and read; the hub's client says what it wants."""
    from hub.integrations.storage.s3 import S3Storage

    config = S3Storage("bucket", endpoint_url="http://127.0.0.1:9", region="us-east-1",
                       access_key_id="k", secret_access_key="s").client.meta.config
    assert config.connect_timeout <= 10 and config.read_timeout <= 60
    assert config.retries["total_max_attempts"] <= 5
