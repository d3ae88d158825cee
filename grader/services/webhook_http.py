"""Posting a webhook: the signature, the check of the receiver's address, the request.

The signature is ``Grader-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``
(docs/lms-integration.md shows a receiver's check). A URL is refused unless it is http(s); its
host's addresses are refused when private, loopback, link-local, multicast or reserved unless
``GRADER_WEBHOOK_ALLOW_PRIVATE`` is on, both when the hook is made (an address written in the
URL) and at every delivery (every address the name resolves to), and the request goes to the
address that was checked, so a name that changes between the check and the call cannot lead
the server to a neighbour. Redirects are not followed: a 3xx is a failed delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 10.0
MAX_URL = 2000
USER_AGENT = "backprop-grader-webhooks/1"


class UnsafeUrl(ValueError):
    """Raised for a webhook URL the server will not call (the message says why)."""


class DeliveryFailed(Exception):
    """Raised when a POST could not be made or was not answered with a 2xx; ``status`` is the
    receiver's status when it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """Return the ``Grader-Signature`` header of ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


@dataclass(frozen=True)
class Target:
    """Where a URL points: scheme, host (as written), port and the request's path."""

    scheme: str
    host: str
    port: int
    path: str


def parse_url(url: str) -> Target:
    """Return the target of an http(s) URL; raise ``UnsafeUrl`` for any other."""
    if len(url) > MAX_URL or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise UnsafeUrl("the URL must be at most 2000 printable characters without spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"the URL cannot be read: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("the URL must start with http:// or https://")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("the URL must not hold a user name or password")
    if parts.fragment:
        raise UnsafeUrl("the URL must not have a #fragment")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default, path)


def forbidden_address(address: str) -> bool:
    """Return whether ``address`` (an IP) is one a webhook may not reach unless private
    addresses are allowed: private, loopback, link-local, multicast, reserved, unspecified."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url(url: str, allow_private: bool) -> Target:
    """Return the target of a URL a hook may have: http(s), and, unless ``allow_private``, no
    forbidden address written as its host (names are checked when they are resolved, at each
    delivery). Raises ``UnsafeUrl``."""
    target = parse_url(url)
    if allow_private:
        return target
    if target.host.lower() in ("localhost", "localhost.") or target.host.lower().endswith(
        ".localhost"
    ):
        raise UnsafeUrl("the URL names this machine (localhost)")
    try:
        literal = ipaddress.ip_address(target.host)
    except ValueError:
        return target
    if forbidden_address(str(literal)):
        raise UnsafeUrl(
            f"the address {target.host} is private, loopback or reserved; the server only "
            "calls public addresses (GRADER_WEBHOOK_ALLOW_PRIVATE allows the others)"
        )
    return target


def resolve(target: Target, allow_private: bool) -> str:
    """Return the address to connect to for ``target``: the first its host resolves to, after
    checking every one. Raises ``DeliveryFailed`` when it does not resolve or, unless
    ``allow_private``, when any address is forbidden."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise DeliveryFailed(f"the host {target.host} does not resolve: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise DeliveryFailed(f"the host {target.host} does not resolve")
    if not allow_private:
        bad = [a for a in addresses if forbidden_address(a)]
        if bad:
            raise DeliveryFailed(
                f"the host {target.host} resolves to {bad[0]}, a private, loopback or reserved "
                "address (GRADER_WEBHOOK_ALLOW_PRIVATE allows it)"
            )
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a checked address, whatever the host name resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.pinned_address = address

    def connect(self) -> None:
        """Connect to the checked address."""
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address; the certificate is checked for the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self.pinned_context = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.pinned_context)
        self.pinned_address = address

    def connect(self) -> None:
        """Connect to the checked address and start TLS for the host name."""
        sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock = self.pinned_context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], allow_private: bool) -> int:
    """POST ``body`` to ``url`` (checked as ``check_url`` and ``resolve`` say); return the
    receiver's 2xx status. Raises ``DeliveryFailed`` (or ``UnsafeUrl``) otherwise."""
    target = check_url(url, allow_private)
    address = resolve(target, allow_private)
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPS(target.host, target.port, address, TIMEOUT_SECONDS)
    else:
        connection = _PinnedHTTP(target.host, target.port, address, TIMEOUT_SECONDS)
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT} | headers
    try:
        connection.request("POST", target.path, body=body, headers=sent)
        response = connection.getresponse()
        detail = response.read(500).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(f"POST {url} failed: {exc or type(exc).__name__}") from None
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise DeliveryFailed(f"POST {url} answered {response.status}: {detail}", response.status)
    return response.status
