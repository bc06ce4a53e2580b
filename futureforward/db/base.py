"""Django's PostgreSQL backend, with two changes to opening a connection: a short database
restart is waited out, and a longer outage is answered at once.

Persistent connections with health checks already make every process reconnect by itself after
PostgreSQL restarts. On top of that:

- **Waiting out a restart.** A connection that cannot be opened is retried for
  CONNECT_RETRY_SECONDS (in the DATABASES entry; 0 turns retrying off), so requests arriving in
  the second or two PostgreSQL takes to come back wait and succeed.
- **A short circuit breaker.** When a process's wait ends without a connection, the database
  counts as down for CONNECT_PAUSE_SECONDS on this whole machine: every process stops waiting
  and fails at once, and after the pause one attempt (not a whole wait) is made per request
  until one succeeds, which closes the breaker. So an outage holds each web worker for one
  wait at its start at most, instead of one wait per request; pages are then answered at once
  (a 503 with ``Retry-After``, futureforward/outage.py), and recovery needs nobody.

The failures are ``OperationalError``s as before. The breaker's state is the time of a small
file per database in the temporary folder, shared by this machine's processes.

And one change to the health check (CONN_HEALTH_CHECKS): Django's asks PostgreSQL ``SELECT 1``
before the first query of every request, a whole round trip that was a quarter to a third of an
anonymous page's time (py-spy, `make bench`). An idle connection has nothing to read, so here
the check looks at the socket first: nothing waiting means nothing happened to the connection
and no query is sent. A server that shuts down or ends this backend says so on the socket (an
error message, then end of file), which is then read by the real ``SELECT 1``, the connection
is closed and the request opens a new one, as before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import select
import tempfile
import time
from pathlib import Path

from django.db.backends.postgresql import base

logger = logging.getLogger(__name__)

DEFAULT_PAUSE_SECONDS = 5.0


def _state_path(conn_params: dict) -> Path:
    where = "|".join(
        str(conn_params.get(key, "")) for key in ("host", "port", "dbname", "user", "service")
    )
    digest = hashlib.sha256(where.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"futureforward-db-{os.getuid()}-{digest}.state"


class Outage:
    """What this machine's processes know about one database being unreachable.

    Kept as the time of one small file (never followed through a symlink). If the file cannot
    be used, the backend behaves as it would without the breaker."""

    def __init__(self, path: Path):
        self.path = path

    def _open(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError:
            logger.warning("Cannot use %s for the database outage state.", self.path)
            return None

    def down_until(self) -> float:
        """Return the time (epoch seconds) until which the database counts as down; 0 when it
        was last seen up."""
        try:
            return os.stat(self.path, follow_symlinks=False).st_mtime
        except OSError:
            return 0.0

    def _set(self, until: float) -> None:
        fd = self._open()
        if fd is not None:
            try:
                os.utime(fd, (until, until))
            finally:
                os.close(fd)

    def mark_down(self, seconds: float) -> None:
        self._set(time.time() + seconds)

    def mark_up(self) -> None:
        if self.down_until():
            self._set(0)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        retry = float(self.settings_dict.get("CONNECT_RETRY_SECONDS", 0))
        pause = float(self.settings_dict.get("CONNECT_PAUSE_SECONDS", DEFAULT_PAUSE_SECONDS))
        if pause <= 0:
            return self._connect_retrying(conn_params, retry, None)
        outage = Outage(_state_path(conn_params))
        down_until = outage.down_until()
        if down_until > time.time():
            raise self.Database.OperationalError(
                "PostgreSQL was unreachable a moment ago; not trying again for "
                f"{down_until - time.time():.1f} s."
            )
        try:
            # Down before: one attempt tells whether it is back. Up before: wait out a restart.
            connection = self._connect_retrying(conn_params, 0 if down_until else retry, outage)
        except self.Database.OperationalError:
            outage.mark_down(pause)
            raise
        outage.mark_up()
        return connection

    def _connect_retrying(self, conn_params, retry: float, outage: Outage | None):
        deadline = time.monotonic() + retry
        delay = 0.1
        while True:
            try:
                return super().get_new_connection(conn_params)
            except self.Database.OperationalError as error:
                if time.monotonic() + delay > deadline:
                    raise
                if outage is not None and outage.down_until() > time.time():
                    raise  # another process waited in vain already
                logger.info("PostgreSQL is not accepting connections yet (%s); retrying.", error)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def close_if_health_check_failed(self):
        """Django's health check, without a round trip while the connection looks healthy."""
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not self._looks_usable() and not self.is_usable():
            self.close()
        self.health_check_done = True

    def _looks_usable(self) -> bool:
        """Return True if the connection is idle, open and has nothing waiting to be read
        (no query sent); False means: ask PostgreSQL."""
        conn = self.connection
        if conn.closed or conn.broken:
            return False
        if conn.info.transaction_status != self.Database.pq.TransactionStatus.IDLE:
            return False
        poller = select.poll()
        poller.register(conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
        return not poller.poll(0)
