"""Django's PostgreSQL backend, with two changes to opening a connection: a short database
restart is waited out, and a longer outage is answered at once.

Persistent connections with health checks already make every process reconnect by itself after
PostgreSQL restarts. On top of that:

- **Waiting out a restart.** A connection that cannot be opened is retried for
  CONNECT_RETRY_SECONDS (in the DATABASES entry; 0 turns retrying off), so requests arriving in
  the second or two PostgreSQL takes to come back wait and succeed.
- **One waiter at a time.** Only one process on this machine (per database) waits like that at
  any moment; the others fail at once while it does. Every web worker sitting in the retry
  would leave none to answer ``/healthz`` or to say "come back in a moment".
- **A short circuit breaker.** When the waiting fails, every process on this machine fails at
  once for CONNECT_PAUSE_SECONDS; after that one connection attempt (not the whole wait) is
  made, and the first success closes the breaker. So during an outage a page costs a failed
  attempt every few seconds at most, and recovery needs nobody.

The failures are ``OperationalError``s as before; the site turns them into a 503 page with
``Retry-After`` (futureforward/outage.py). The state is a small file per database in the
temporary folder, shared by this machine's processes: its lock marks the waiter, its time
says until when the database counts as down.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
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

    Kept in one small file (never followed through a symlink). If the file cannot be used, the
    backend simply behaves as if no other process were waiting and the database were up."""

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

    @contextlib.contextmanager
    def waiter(self):
        """Yield True if this caller is the one that may wait for the database, else False."""
        fd = self._open()
        if fd is None:
            yield True
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        retry = float(self.settings_dict.get("CONNECT_RETRY_SECONDS", 0))
        pause = float(self.settings_dict.get("CONNECT_PAUSE_SECONDS", DEFAULT_PAUSE_SECONDS))
        if pause <= 0:
            return self._connect_retrying(conn_params, retry)
        outage = Outage(_state_path(conn_params))
        down_until = outage.down_until()
        if down_until > time.time():
            raise self.Database.OperationalError(
                "PostgreSQL was unreachable a moment ago; not trying again for "
                f"{down_until - time.time():.1f} s."
            )
        # Down before: one attempt tells whether it is back. Up before: wait out a restart,
        # unless another process is already waiting for it.
        with outage.waiter() as may_wait:
            if not may_wait and retry > 0 and not down_until:
                raise self.Database.OperationalError(
                    "PostgreSQL is not accepting connections; another process is waiting for it."
                )
            try:
                connection = self._connect_retrying(
                    conn_params, retry if may_wait and not down_until else 0
                )
            except self.Database.OperationalError:
                outage.mark_down(pause)
                raise
        outage.mark_up()
        return connection

    def _connect_retrying(self, conn_params, retry: float):
        deadline = time.monotonic() + retry
        delay = 0.1
        while True:
            try:
                return super().get_new_connection(conn_params)
            except self.Database.OperationalError as error:
                if time.monotonic() + delay > deadline:
                    raise
                logger.info("PostgreSQL is not accepting connections yet (%s); retrying.", error)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
