"""Outbound HTTP with an SSRF guard: the one client for calling URLs that users give us.

Webhook endpoints and connector URLs are chosen by tenants, so a request to
them must not reach the hub's own network: loopback, private ranges, link-local
(where cloud metadata lives), multicast and reserved addresses are refused.

The guard is applied where it cannot be raced: the host is resolved once, every
address it resolves to is checked, and the connection goes to a checked IP
address (the URL's host name stays in the `Host` header, TLS SNI and certificate
verification). A DNS answer that changes between the check and the connect
(DNS rebinding) therefore cannot redirect the request. Redirects are not
followed unless asked for, and each hop is checked the same way.

Built on urllib3 (the engine under `requests`) because it lets us connect to a
given IP while verifying TLS for the host name, through public API, and it
ignores proxy environment variables that would bypass the guard.

Plain values in and out; no settings, models or Flask here.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from hub.telemetry import integration_call
from hub.version import VERSION

DEFAULT_TIMEOUT = 15.0
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = f"integration-hub/{VERSION}"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> IP addresses as strings (tests give their own).
Resolver = Callable[[str, int], list[str]]

# Cloud metadata services: never reachable, whatever OUTBOUND_ALLOW_PRIVATE says.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",   # AWS, GCP, Azure, OpenStack, DigitalOcean
    "169.254.170.2",     # AWS ECS task metadata
    "fd00:ec2::254",     # AWS IMDS over IPv6
    "100.100.100.200",   # Alibaba Cloud
))
# "Private" in the sense of OUTBOUND_ALLOW_PRIVATE: networks of an organisation.
PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",  # RFC 1918, CGNAT
    "fc00::/7", "fec0::/10",                                           # ULA, old site-local
))
NAT64_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48"))
# IPv6 forms whose last 32 bits are an IPv4 address a host or gateway may reach:
# IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks) and SIIT's
# IPv4-translated ::ffff:0:a.b.c.d. (:: and ::1 are judged as themselves.)
IPV4_IN_LOW_BITS = tuple(ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0:0/96"))


class OutboundRefused(Exception):
    """The guard refused the URL or an address it resolves to; the message is safe to show."""


class OutboundError(Exception):
    """The request did not get a response: `kind` is dns, connect, timeout, tls or protocol."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str]          # lower-case names
    body: bytes                      # at most max_response_bytes
    truncated: bool                  # the peer sent more than we read
    url: str                         # the last URL requested (after redirects)
    duration_ms: float


@dataclass(frozen=True)
class Target:
    """A URL taken apart: where to connect and what to say."""

    scheme: str
    host: str                        # name or IP literal, without brackets
    port: int
    path: str                        # path and query
    host_header: str = field(default="")


# --- the guard --------------------------------------------------------------

def classify(ip: IPAddress) -> str:
    """One of: global, loopback, private, metadata, unspecified, multicast, link-local, reserved."""
    if ip in METADATA_ADDRESSES:
        return "metadata"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # ::a.b.c.d, ::ffff:a.b.c.d, ::ffff:0:a.b.c.d, 6to4, Teredo and NAT64 reach an
            # IPv4 address: judge that one.
            return classify(embedded)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_link_local:
        return "link-local"
    if ip.is_loopback:
        return "loopback"
    if any(ip in net for net in PRIVATE_NETWORKS if net.version == ip.version):
        return "private"
    if ip.is_global:
        return "global"
    return "reserved"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) > 1 and any(ip in net for net in IPV4_IN_LOW_BITS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def check_address(address: str | IPAddress, *, allow_private: bool) -> IPAddress:
    """The address, if a request may go there; else OutboundRefused."""
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    kind = classify(ip)
    if kind == "global" or (allow_private and kind in ("loopback", "private")):
        return ip
    raise OutboundRefused(f"requests to {kind} addresses are not allowed")


def parse_url(url: str) -> Target:
    """Split an http(s) URL; OutboundRefused if it is not one we may call."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundRefused("only http and https URLs are allowed")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("credentials in the URL are not allowed")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OutboundRefused("the URL has no host")
    port = port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == (443 if scheme == "https" else 80) else f"{shown}:{port}"
    return Target(scheme=scheme, host=host, port=port, path=path, host_header=host_header)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


# Cloud instance-metadata names (GCP, AWS, Azure, OpenStack/Oracle conventions).
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata",
                            "instance-data", "instance-data.ec2.internal", "metadata.azure.internal"})


def resolve_checked(target: Target, *, allow_private: bool,
                    resolver: Resolver = system_resolver) -> list[IPAddress]:
    """Resolve the target's host and check every address: one bad answer refuses it all."""
    if not allow_private and target.host.rstrip(".").lower() in METADATA_HOSTS:
        # Refused by name too: such a name may not resolve where the URL is saved but
        # will where a worker sends (inside the cloud), and it never means a customer.
        raise OutboundRefused(f"{target.host} is a cloud metadata service")
    addresses = _literal_or_resolved(target, resolver)
    if not addresses:
        raise OutboundError("dns", f"{target.host} has no addresses")
    for ip in addresses:
        try:
            check_address(ip, allow_private=allow_private)
        except OutboundRefused as exc:
            raise OutboundRefused(f"{target.host} resolves to a refused address: {exc}") from None
    return addresses


def _literal_or_resolved(target: Target, resolver: Resolver) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(target.host)]
    except ValueError:
        pass  # a name, not an IP literal
    try:
        return [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(target.host, target.port)]
    except (OSError, UnicodeError, ValueError) as exc:
        raise OutboundError("dns", f"could not resolve {target.host}: {exc}") from None


def check_url(url: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> Target:
    """Check a URL as it would be called now (validation at create/update time)."""
    target = parse_url(url)
    resolve_checked(target, allow_private=allow_private, resolver=resolver)
    return target


# --- sending ----------------------------------------------------------------

def request(method: str, url: str, *, headers: Mapping[str, str] | None = None,
            body: bytes | None = None, timeout: float = DEFAULT_TIMEOUT,
            allow_private: bool = False, max_redirects: int = 0,
            max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
            resolver: Resolver = system_resolver, ca_certs: str | None = None,
            integration: str = "http") -> OutboundResponse:
    """Send one request through the guard; any HTTP status is a response.

    `timeout` bounds the whole exchange (connect, send, read the body).
    Raises OutboundRefused (the guard said no) or OutboundError (no response).
    `integration` names the caller in metrics and traces (`webhook`, `connector`).
    """
    with integration_call(integration, method.upper(), **{"server.address": _host(url)}) as call:
        try:
            response = _request(method, url, headers, body, timeout, allow_private, max_redirects,
                                max_response_bytes, resolver, ca_certs)
        except OutboundRefused:
            call.outcome = "refused"
            raise
        call.answered(response.status)
        return response


def _request(method: str, url: str, headers: Mapping[str, str] | None, body: bytes | None,
             timeout: float, allow_private: bool, max_redirects: int, max_response_bytes: int,
             resolver: Resolver, ca_certs: str | None) -> OutboundResponse:
    started = time.monotonic()
    deadline = started + timeout
    sent_headers = _with_defaults(headers or {})
    current, verb, payload = url, method.upper(), body
    for hop in range(max_redirects + 1):
        target = parse_url(current)
        addresses = resolve_checked(target, allow_private=allow_private, resolver=resolver)
        status, response_headers, content, truncated = _send(
            verb, target, addresses, sent_headers, payload, deadline, max_response_bytes, ca_certs)
        location = response_headers.get("location")
        if status in REDIRECT_STATUSES and location and hop < max_redirects:
            following = urljoin(current, location)
            if urlsplit(following)[:2] != urlsplit(current)[:2]:
                # Credentials are for the origin they were given for.
                sent_headers = {k: v for k, v in sent_headers.items()
                                if k.lower() not in ("authorization", "cookie")}
            if status == 303 or (status in (301, 302) and verb == "POST"):
                verb, payload = ("GET" if verb != "HEAD" else "HEAD"), None
                sent_headers = {k: v for k, v in sent_headers.items() if k.lower() != "content-type"}
            current = following
            continue
        return OutboundResponse(status=status, headers=response_headers, body=content,
                                truncated=truncated, url=current,
                                duration_ms=round((time.monotonic() - started) * 1000, 1))
    raise AssertionError("unreachable")  # the loop returns on its last hop


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:  # the guard says why, inside the call
        return None


def _with_defaults(headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's headers plus the defaults it did not set. Names are matched without
    regard to case: a caller's `user-agent` replaces the default rather than joining it
    (two User-Agent headers)."""
    given = {name.lower() for name in headers}
    defaults = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    return {**{k: v for k, v in defaults.items() if k.lower() not in given}, **headers}


def _send(method: str, target: Target, addresses: list[IPAddress], headers: Mapping[str, str],
          body: bytes | None, deadline: float, max_bytes: int,
          ca_certs: str | None) -> tuple[int, dict[str, str], bytes, bool]:
    """Try the checked addresses in order until one connects."""
    last: OutboundError | None = None
    for ip in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        pool = _pool(target, ip, remaining, ca_certs)
        try:
            response = pool.urlopen(method, target.path, body=body,
                                    headers={**headers, "Host": target.host_header},
                                    retries=False, redirect=False, preload_content=False,
                                    decode_content=False, assert_same_host=False)
        except NewConnectionError as exc:
            # Also the base of a connect timeout's cousins; try the next address.
            last = OutboundError("connect", f"could not connect to {target.host}: {_reason(exc)}")
            pool.close()
            continue
        except ConnectTimeoutError:
            last = OutboundError("timeout", f"connecting to {target.host} timed out")
            pool.close()
            continue
        except (ReadTimeoutError, TimeoutError):
            pool.close()
            raise OutboundError("timeout", f"{target.host} did not answer in time") from None
        except SSLError as exc:
            pool.close()
            raise OutboundError("tls", f"TLS with {target.host} failed: {_reason(exc)}") from None
        except (ProtocolError, HTTPError, OSError) as exc:
            pool.close()
            raise OutboundError("protocol", f"{target.host}: {_reason(exc)}") from None
        try:
            content, truncated = _read_capped(response, max_bytes, deadline, target.host)
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, response_headers, content, truncated
        finally:
            response.release_conn()
            pool.close()
    raise last or OutboundError("timeout", f"no time left to reach {target.host}")


def _pool(target: Target, ip: IPAddress, remaining: float,
          ca_certs: str | None) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=remaining, read=remaining)
    if target.scheme == "https":
        # Connect to the checked IP; verify the certificate for the URL's host name.
        return urllib3.HTTPSConnectionPool(str(ip), target.port, timeout=timeout, maxsize=1,
                                           retries=False, server_hostname=target.host,
                                           cert_reqs="CERT_REQUIRED", ca_certs=ca_certs)
    return urllib3.HTTPConnectionPool(str(ip), target.port, timeout=timeout, maxsize=1, retries=False)


def _read_capped(response, max_bytes: int, deadline: float, host: str) -> tuple[bytes, bool]:
    """Read at most max_bytes of the body, within the deadline (a slow drip is a timeout)."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size < max_bytes:
            if time.monotonic() > deadline:
                raise OutboundError("timeout", f"{host} sent its response too slowly")
            # read1: whatever has arrived. read(n) would wait for all n bytes, so a peer
            # dripping one byte at a time held the worker far past the deadline.
            chunk = response.read1(min(8192, max_bytes - size))
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)
            size += len(chunk)
        # Full: is there more? One more byte tells us, without reading it all.
        more = response.read1(1)
    except (ReadTimeoutError, TimeoutError):
        raise OutboundError("timeout", f"{host} sent its response too slowly") from None
    except (ProtocolError, HTTPError, OSError) as exc:
        raise OutboundError("protocol", f"{host}: {_reason(exc)}") from None
    return b"".join(chunks), bool(more)


def _reason(exc: BaseException) -> str:
    """A short reason without the object reprs urllib3 puts in its messages."""
    text = str(getattr(exc, "reason", None) or exc)
    if ": " in text and text.startswith("<"):
        text = text.split(": ", 1)[1]
    return text[:200]
