"""A real HTTP receiver for webhook tests: a server on 127.0.0.1 in a thread that answers each
POST as told (a status code, "hang", "trickle": a 200 sent a byte at a time, or
"redirect:<url>": a 307 to url) and keeps what it received."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG_SECONDS = 3
TRICKLE_SECONDS = 0.1


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self):
        self.answers: list[int | str] = []
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.received.append(Received(self.path, headers, body))
                answer = receiver.answers.pop(0) if receiver.answers else 200
                if answer == "hang":
                    time.sleep(HANG_SECONDS)
                    return
                if answer == "trickle":
                    # A status line, then a header a byte at a time: no single read waits
                    # long, the whole answer takes HANG_SECONDS, and it ends in a 200.
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self.wfile.flush()
                    for byte in b"X-Slow: " + b"a" * int(HANG_SECONDS / TRICKLE_SECONDS):
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(TRICKLE_SECONDS)
                    self.wfile.write(b"\r\nContent-Length: 0\r\n\r\n")
                    self.wfile.flush()
                    return
                if isinstance(answer, str) and answer.startswith("redirect:"):
                    self.send_response(307)
                    self.send_header("Location", answer.removeprefix("redirect:"))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(answer)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"accepted" if answer < 300 else b"receiver broke")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ff"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def signature_is_valid(secret: str, received: Received) -> bool:
    """Check a request the way a receiver following Standard Webhooks does."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message_id = received.headers["webhook-id"]
    timestamp = received.headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False
    signed = f"{message_id}.{timestamp}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1) for part in received.headers["webhook-signature"].split(" ")]
    return any(version == "v1" and hmac.compare_digest(value, expected) for version, value in given)
