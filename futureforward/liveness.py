"""Liveness answered by the gunicorn master itself, on a port of its own (HEALTH_PORT).

The site's own ``/healthz`` (futureforward/health.py) is answered by a web worker, so it queues
behind whatever the workers are doing: when every sync worker holds a request that waits for
the database, a liveness probe on the main port times out and an orchestrator restarts a
process that is fine. The master never serves requests; it only watches its workers and
replaces any that hang (``timeout``) or die. So "the master answers" is the liveness an
orchestrator needs, and a small thread in the master answers it at once, however busy the
workers are.

Only ``GET``/``HEAD /healthz`` is answered (200, ``{"status": "ok"}``); anything else is a 404.
No Django, no database, no cache: nothing here can wait on anything but the socket.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger("gunicorn.error")

PATH = "/healthz"
_BODY = json.dumps({"status": "ok"}).encode()


class _Handler(BaseHTTPRequestHandler):
    server_version = "futureforward-liveness"
    # A stalled or silent client must not hold a thread for long.
    timeout = 5

    def _answer(self, with_body: bool) -> None:
        if (self.path.split("?", 1)[0].rstrip("/") or "/") == PATH:
            status, body = 200, _BODY
        else:
            status, body = 404, b'{"status": "not found"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (the name http.server looks up)
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(with_body=False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        # Probes arrive every few seconds; they are not worth a log line each.
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Probes from several checkers at once must not be refused.
    request_queue_size = 64


class _Server6(_Server):
    address_family = socket.AF_INET6


def port_from_environment() -> int | None:
    """Return HEALTH_PORT as a port number, or None when it is unset (no listener)."""
    value = os.environ.get("HEALTH_PORT", "").strip()
    return int(value) if value else None


def host_of(binds: list[str]) -> str:
    """Return the host of gunicorn's first TCP bind, so liveness listens where the site does
    (loopback in development, every interface on a platform); loopback for a Unix socket."""
    for address in binds:
        if address.startswith(("unix:", "fd://")):
            continue
        host = address.rsplit(":", 1)[0] if ":" in address else address
        return host.strip("[]") or "127.0.0.1"
    return "127.0.0.1"


class Liveness:
    """The master's listener. Binding is retried every second until it succeeds: during a
    gunicorn upgrade in place (USR2) the old master still holds the port for a while."""

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self.server: _Server | None = None
        self.bound = threading.Event()
        threading.Thread(target=self._run, name="liveness", daemon=True).start()

    def _run(self) -> None:
        server_class = _Server6 if ":" in self.host else _Server
        warned = False
        while True:
            try:
                self.server = server_class((self.host, self.port), _Handler)
                break
            except OSError as error:
                if not warned:
                    logger.warning("Liveness cannot listen on port %s yet (%s).", self.port, error)
                    warned = True
                time.sleep(1)
        self.bound.set()
        logger.info("Liveness: http://%s:%s%s answered by the master", self.host, self.port, PATH)
        self.server.serve_forever()

    def close_in_worker(self) -> None:
        """Close the listening socket a forked worker inherits (the thread serving it stays in
        the master), so only the master holds the port."""
        if self.server is not None:
            self.server.socket.close()
