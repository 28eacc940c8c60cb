"""The guarded outbound HTTP client, against real HTTP(S) servers on loopback.

Refused addresses are never contacted: the guard decides before any socket is
opened, and names are pointed at addresses through a resolver the test controls.
"""
from __future__ import annotations

import ipaddress
import socket

import pytest

from hub.integrations import http as outbound
from hub.integrations.http import OutboundError, OutboundRefused
from tests.support.certs import self_signed
from tests.support.http_fake import Answer, FakeHTTPServer

REFUSED_ALWAYS = ["169.254.169.254", "fd00:ec2::254", "169.254.10.1", "fe80::1", "0.0.0.0", "::",
                  "224.0.0.1", "ff02::1", "240.0.0.1", "255.255.255.255", "192.0.2.10", "100.100.100.200"]
PRIVATE = ["127.0.0.1", "127.5.5.5", "::1", "10.0.0.1", "172.16.3.4", "192.168.1.1", "100.64.0.1",
           "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1", "64:ff9b::a00:1"]

# IPv6 spellings of internal IPv4 addresses: judged by the IPv4 address inside.
EMBEDDED = {"::7f00:1": "private", "::127.0.0.1": "private", "::ffff:0:7f00:1": "private",
            "::ffff:0:a00:1": "private", "::ffff:7f00:1": "private", "64:ff9b::7f00:1": "private",
            "2002:a00:1::1": "private", "::a9fe:a9fe": "metadata", "::ffff:0:a9fe:a9fe": "metadata",
            "64:ff9b::a9fe:a9fe": "metadata", "2002:a9fe:a9fe::": "metadata",
            "::ffff:0:808:808": "global", "::808:808": "global"}


def resolver_for(mapping: dict[str, list[str]]):
    """A resolver that answers from `mapping`, and fails for any other name."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        if host not in mapping:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return mapping[host]

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize("address", REFUSED_ALWAYS + PRIVATE)
def test_guard_refuses_internal_addresses_when_private_is_off(address):
    with pytest.raises(OutboundRefused):
        outbound.check_address(address, allow_private=False)


@pytest.mark.parametrize("address", PRIVATE)
def test_allow_private_opens_loopback_and_private_ranges(address):
    assert outbound.check_address(address, allow_private=True) == ipaddress.ip_address(address)


@pytest.mark.parametrize("address", REFUSED_ALWAYS)
def test_metadata_link_local_multicast_and_reserved_stay_refused_with_allow_private(address):
    with pytest.raises(OutboundRefused):
        outbound.check_address(address, allow_private=True)


def test_public_addresses_pass():
    for address in ("93.184.216.34", "2606:4700::6810:85e5", "8.8.8.8"):
        outbound.check_address(address, allow_private=False)


@pytest.mark.parametrize("url, kind", [
    ("http://127.0.0.1/", "loopback"), ("http://[::1]/", "loopback"), ("http://localhost/", "loopback"),
    # Other spellings of 127.0.0.1: hex, one integer, octal, short, IPv4-mapped IPv6.
    ("http://0x7f000001/", "loopback"), ("http://2130706433/", "loopback"),
    ("http://0177.0.0.1/", "loopback"), ("http://127.1/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://10.0.0.1/", "private"), ("http://169.254.169.254/latest", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
])
def test_check_url_refuses_internal_hosts_as_such(url, kind):
    # The refusal itself, naming what the address is: a failed lookup or any other
    # outbound error would not show that the guard saw through the spelling.
    with pytest.raises(OutboundRefused, match=f"requests to {kind} addresses are not allowed"):
        outbound.check_url(url, allow_private=False)


@pytest.mark.parametrize("url, reason", [
    ("ftp://example.com/x", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("http://user:pw@example.com/", "credentials"),
    ("http:///nohost", "no host"),
    ("http://example.com:99999/", "not a valid URL"),
])
def test_parse_url_refuses_what_is_not_a_plain_http_url(url, reason):
    with pytest.raises(OutboundRefused, match=reason):
        outbound.parse_url(url)


def test_one_internal_answer_among_public_ones_refuses_the_name():
    resolve = resolver_for({"mixed.example": ["93.184.216.34", "10.1.2.3"]})
    with pytest.raises(OutboundRefused, match="mixed.example resolves to a refused address"):
        outbound.check_url("https://mixed.example/hook", allow_private=False, resolver=resolve)


def test_name_that_now_resolves_to_a_private_address_is_refused_at_send_time(http_server):
    # Created when it pointed elsewhere; at send time the name points inside.
    resolve = resolver_for({"hooks.example": ["10.9.8.7"]})
    with pytest.raises(OutboundRefused, match="private"):
        outbound.request("POST", "http://hooks.example/x", body=b"{}", resolver=resolve)
    assert resolve.asked == ["hooks.example"]
    assert http_server.requests() == []


def test_localhost_is_refused_before_connecting(http_server):
    with pytest.raises(OutboundRefused, match="loopback"):
        outbound.request("POST", f"http://localhost:{http_server.port}/x", body=b"{}")
    assert http_server.requests() == []


def test_request_connects_to_the_checked_address_and_keeps_the_host_name(http_server):
    # The name resolves once, to loopback; the request goes to exactly that address.
    resolve = resolver_for({"hooks.example": ["127.0.0.1"]})
    resp = outbound.request("POST", f"http://hooks.example:{http_server.port}/in?x=1",
                            headers={"X-Test": "yes"}, body=b'{"a":1}', allow_private=True,
                            resolver=resolve)
    assert resp.status == 200 and resp.body == b"hello" and not resp.truncated
    assert resolve.asked == ["hooks.example"]
    (req,) = http_server.requests()
    assert req.target == "/in?x=1" and req.body == b'{"a":1}'
    assert req.headers["host"] == f"hooks.example:{http_server.port}"
    assert req.headers["x-test"] == "yes"


def test_ipv6_loopback_literal_works_when_allowed(http_server_v6):
    resp = outbound.request("GET", f"http://[::1]:{http_server_v6.port}/v6", allow_private=True)
    assert resp.status == 200
    assert http_server_v6.requests()[0].headers["host"] == f"[::1]:{http_server_v6.port}"


def test_redirects_are_not_followed_by_default(http_server):
    http_server.respond = Answer(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    resp = outbound.request("GET", f"http://127.0.0.1:{http_server.port}/r", allow_private=True)
    assert resp.status == 302 and resp.headers["location"].startswith("http://169.254.169.254")


def test_a_followed_redirect_to_a_refused_address_is_refused(http_server):
    http_server.respond = Answer(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    with pytest.raises(OutboundRefused, match="metadata"):
        outbound.request("GET", f"http://127.0.0.1:{http_server.port}/r", allow_private=True,
                         max_redirects=3)
    assert len(http_server.requests()) == 1


def test_a_followed_redirect_within_allowed_addresses_arrives(http_server):
    http_server.script("/start", Answer(307, headers={"Location": "/final"}))
    http_server.script("/final", Answer(200, b"done"))
    resp = outbound.request("POST", f"http://127.0.0.1:{http_server.port}/start", body=b"x",
                            allow_private=True, max_redirects=2)
    assert resp.status == 200 and resp.body == b"done"
    assert resp.url.endswith("/final")
    assert [r.path for r in http_server.requests()] == ["/start", "/final"]
    assert http_server.requests()[1].body == b"x"  # 307 keeps method and body


def test_slow_answer_is_a_timeout(http_server):
    http_server.respond = Answer(200, b"late", delay=3)
    with pytest.raises(OutboundError) as info:
        outbound.request("GET", f"http://127.0.0.1:{http_server.port}/slow", allow_private=True,
                         timeout=0.5)
    assert info.value.kind == "timeout"


def test_connection_refused_is_a_connect_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(OutboundError) as info:
        outbound.request("GET", f"http://127.0.0.1:{port}/", allow_private=True, timeout=2)
    assert info.value.kind == "connect"


def test_unresolvable_name_is_a_dns_error():
    with pytest.raises(OutboundError) as info:
        outbound.request("GET", "http://nowhere.example/", resolver=resolver_for({}))
    assert info.value.kind == "dns"


def test_large_response_is_read_only_up_to_the_cap(http_server):
    http_server.respond = Answer(200, b"z" * 100_000)
    resp = outbound.request("GET", f"http://127.0.0.1:{http_server.port}/big", allow_private=True,
                            max_response_bytes=1000)
    assert resp.body == b"z" * 1000 and resp.truncated


# --- TLS: connecting to the pinned IP still verifies the certificate for the name ---

def test_https_to_a_pinned_address_verifies_the_certificate_for_the_name(https_server):
    resolve = resolver_for({"hooks.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    resp = outbound.request("POST", f"https://hooks.example:{https_server.port}/tls", body=b"{}",
                            allow_private=True, resolver=resolve, ca_certs=https_server.ca_file)
    assert resp.status == 200
    assert https_server.requests()[0].headers["host"] == f"hooks.example:{https_server.port}"
    with pytest.raises(OutboundError) as info:
        outbound.request("POST", f"https://other.example:{https_server.port}/tls", body=b"{}",
                         allow_private=True, resolver=resolve, ca_certs=https_server.ca_file)
    assert info.value.kind == "tls"
    assert len(https_server.requests()) == 1


# --- servers -----------------------------------------------------------------

@pytest.fixture
def http_server():
    with FakeHTTPServer(Answer(200, b"hello")) as server:
        yield server


@pytest.fixture
def http_server_v6():
    with FakeHTTPServer(Answer(200, b"hello"), host="::1") as server:
        yield server


@pytest.fixture
def https_server(tmp_path):
    """HTTPS on 127.0.0.1 with a certificate for `hooks.example` (its own CA)."""
    certificate = self_signed(tmp_path, "hooks.example")
    with FakeHTTPServer(Answer(200, b"hello"), tls=certificate.server_context()) as server:
        server.ca_file = str(certificate.cert_file)
        yield server


@pytest.mark.parametrize("address, expected", sorted(EMBEDDED.items()))
def test_ipv6_forms_that_embed_ipv4_are_judged_by_the_ipv4_inside(address, expected):
    import ipaddress

    ip = ipaddress.ip_address(address)
    found = outbound.classify(ip)
    assert found in ({"loopback", "private"} if expected == "private" else {expected}), (address, found)
    if expected != "global":
        with pytest.raises(OutboundRefused):
            outbound.check_address(address, allow_private=False)
