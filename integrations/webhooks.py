"""Sending one webhook: the Standard Webhooks signature, the address check and the HTTP POST.

Signature (https://www.standardwebhooks.com): headers ``webhook-id``, ``webhook-timestamp``
(Unix seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, keyed
with the endpoint's secret ``whsec_<base64>`` (the bytes after the prefix, base64-decoded).

Where a request may go is posts/remote.py's guard, the same one imports fetch images through:
the host is resolved once, every address it resolves to must be on the public internet, and
the connection is made to that checked address, so a DNS answer that changes between the
check and the connection (DNS rebinding) cannot send it elsewhere. Redirects are not followed: a
3xx is a failed attempt like any other non-2xx, so a redirect cannot lead to an address that
was never checked. Connecting and each read wait at most WEBHOOK_TIMEOUT_SECONDS, and the
whole exchange at most twice that: a timer cuts the connection at that deadline, so a receiver
that hangs, or trickles its status line and headers a byte at a time, never holds a worker.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from posts import remote

SNIPPET_BYTES = 500
USER_AGENT = "FutureForward-Webhooks/1"


class TargetRefused(ValueError):
    """The URL may not be called: wrong scheme, unknown host, or an address not public."""


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the webhook-signature header value for body."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def check_scheme(url: str) -> None:
    """Refuse anything but an absolute http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("Only http:// and https:// addresses can receive webhooks.")


def resolve(url: str) -> tuple[str, int, str]:
    """Return (host, port, checked address) for url, or raise TargetRefused (the address
    guard is posts/remote.py's, shared with imports)."""
    check_scheme(url)
    try:
        return remote.resolve(
            url,
            allow_loopback=settings.WEBHOOK_ALLOW_LOOPBACK,
            refusal="webhooks are not sent there",
        )
    except remote.FetchRefused as exc:
        raise TargetRefused(str(exc)) from None


@dataclass
class Outcome:
    status_code: int | None
    snippet: str
    error: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(*, url: str, secret: str, message_id: str, body: bytes) -> Outcome:
    """POST body to url, signed; return what happened. Never raises for the receiver's sake."""
    started = time.monotonic()
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS

    def outcome(status=None, snippet="", error=""):
        took = int((time.monotonic() - started) * 1000)
        return Outcome(status, snippet[:SNIPPET_BYTES], error[:300], took)

    try:
        host, port, address = resolve(url)
    except TargetRefused as exc:
        return outcome(error=f"Refused: {exc}")
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            secret=secret, message_id=message_id, timestamp=timestamp, body=body
        ),
    }
    connection = remote.pinned_connection(url, host, port, address=address, timeout=timeout)
    # Each read has its own timeout, but a status line and headers sent a byte at a time never
    # trip it: the timer ends the exchange at the deadline whatever the receiver does.
    fired = threading.Event()
    cutter = threading.Timer(2 * timeout, _cut, args=(connection, fired))
    cutter.daemon = True
    cutter.start()
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        if fired.is_set():
            # Cut while the headers were still arriving: what was parsed is not an answer.
            raise TimeoutError
        snippet = _read_some(response, deadline=started + 2 * timeout)
        return outcome(status=response.status, snippet=snippet)
    except (OSError, http.client.HTTPException) as exc:
        if fired.is_set():
            reason = f"timed out (no full answer within {2 * timeout:g} s)"
        elif isinstance(exc, TimeoutError):
            reason = "timed out"
        else:
            reason = str(exc) or type(exc).__name__
        return outcome(error=f"No answer: {reason}")
    finally:
        cutter.cancel()
        connection.close()


def _cut(connection: http.client.HTTPConnection, fired: threading.Event) -> None:
    """End a connection from another thread: a read blocked on it returns at once."""
    fired.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _read_some(response: http.client.HTTPResponse, *, deadline: float) -> str:
    """Read the start of the answer, for the log; stop at SNIPPET_BYTES or the deadline."""
    data = b""
    try:
        while len(data) < SNIPPET_BYTES and time.monotonic() < deadline:
            chunk = response.read1(SNIPPET_BYTES - len(data))
            if not chunk:
                break
            data += chunk
    except (OSError, http.client.HTTPException):
        pass  # the status line arrived; a body that stalls only shortens the log's snippet
    return data.decode("utf-8", "replace")
