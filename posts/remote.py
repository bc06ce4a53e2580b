"""Fetching a file from another host without letting the address reach inside our network.

The host is resolved once; every address it resolves to must be on the public internet (not
loopback, private, link-local, multicast or reserved), and the connection goes to that checked
address, so a DNS answer that changes between the check and the connection cannot send it
elsewhere. Redirects are followed by hand, a few at most, and each new address is checked the
same way. Connecting and each read wait at most `timeout` seconds and the whole download at most
four times that; a body larger than `max_bytes` is abandoned.

It lives in posts, the lowest app that reaches other hosts (imported posts' images), so every
app above uses this one guard: imports fetch with ``fetch``; integrations/webhooks.py posts
through ``resolve`` and ``pinned_connection`` and follows no redirect at all.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

USER_AGENT = "FutureForward-Import/1"
MAX_REDIRECTS = 3


class FetchRefused(ValueError):
    """The address may not be fetched, or what it answered is refused; the message says why."""


@dataclass
class Fetched:
    url: str
    content_type: str
    content: bytes


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Return True if address is on the public internet (not private, loopback, link-local,
    multicast or reserved)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def resolve(
    url: str, *, allow_loopback: bool = False, refusal: str = "it is not fetched"
) -> tuple[str, int, str]:
    """Return (host, port, checked address) for an http(s) url, or raise FetchRefused.

    `refusal` ends the message for an address that is not public, in the caller's words."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefused("Only http:// and https:// addresses can be fetched.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchRefused("The address has an invalid port.") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchRefused(f"The host {parts.hostname} could not be found.") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    refused = [str(a) for a in addresses if not (is_public(a) or (allow_loopback and _loopback(a)))]
    if not addresses or refused:
        raise FetchRefused(
            f"{parts.hostname} resolves to an address that is not on the public internet "
            f"({', '.join(refused) or 'none'}); {refusal}."
        )
    return parts.hostname, port, str(addresses[0])


def pinned_connection(
    url: str, host: str, port: int, *, address: str, timeout: float
) -> http.client.HTTPConnection:
    """An HTTP(S) connection to url's host that connects to the checked address, not to
    whatever the name resolves to by then; TLS still checks the certificate against host."""
    kind = _PinnedHTTPSConnection if urlsplit(url).scheme == "https" else _PinnedHTTPConnection
    return kind(host, port, address=address, timeout=timeout)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host name, not the pinned address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(url: str, *, max_bytes: int, timeout: float, allow_loopback: bool = False) -> Fetched:
    """GET url (following a few redirects, each checked) and return its body, or raise
    FetchRefused with the reason in words."""
    started = time.monotonic()
    for _hop in range(MAX_REDIRECTS + 1):
        host, port, address = resolve(url, allow_loopback=allow_loopback)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = pinned_connection(url, host, port, address=address, timeout=timeout)
        try:
            connection.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise FetchRefused(f"The server answered {response.status} without Location.")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchRefused(f"The server answered {response.status}.")
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FetchRefused(
                    f"The file is {int(length):,} bytes, more than the {max_bytes:,} allowed."
                )
            content = _read_limited(response, max_bytes=max_bytes, deadline=started + 4 * timeout)
            content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
            return Fetched(url=url, content_type=content_type.lower(), content=content)
        except (OSError, http.client.HTTPException) as exc:
            reason = (
                "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            )
            raise FetchRefused(f"No answer: {reason}.") from None
        finally:
            connection.close()
    raise FetchRefused(f"More than {MAX_REDIRECTS} redirects.")


def _read_limited(response, *, max_bytes: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchRefused("The download took too long.")
        chunk = response.read1(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise FetchRefused(f"The file is larger than the {max_bytes:,} bytes allowed.")
        chunks.append(chunk)
