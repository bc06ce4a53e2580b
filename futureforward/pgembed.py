"""The embedded PostgreSQL used when DATABASE_URL is unset.

The server comes from the ``pgserver`` package and keeps its data in ``.pgdata/`` at the project
root. It listens on a Unix socket only; pgserver moves the socket to a short runtime folder when
the project lives at a path too deep for the ~107-byte socket limit.

Command line (used by the Makefile):

    python -m futureforward.pgembed run -- CMD ...   start if needed, run CMD with DATABASE_URL
                                                     pointing at it, stop if we started it
    python -m futureforward.pgembed start | stop | url

Settings never start it: loading settings does no I/O, and without DATABASE_URL they refuse to
guess. This wrapper is what hands the embedded server to a command, as a plain DATABASE_URL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

PROJECT_DIR = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("FF_PGDATA", PROJECT_DIR / ".pgdata")).resolve()
DB_NAME = "futureforward"


def _server():
    # pgserver warns about XDG_RUNTIME_DIR on machines without a login session; that is expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        # cleanup_mode=None: the server outlives the process that started it, so gunicorn workers,
        # the task worker and the autoreloader can all share it; `stop` or `run` stop it.
        try:
            return pgserver.get_server(PGDATA, cleanup_mode=None)
        except json.JSONDecodeError:
            # pgserver's list of handle pids, torn by a process killed mid-write. With
            # cleanup_mode=None nothing depends on it, so start it afresh.
            (PGDATA / ".handle_pids.json").unlink(missing_ok=True)
            return pgserver.get_server(PGDATA, cleanup_mode=None)


def _running_info():
    """Return the running server's postmaster info, or None when it is not up."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pgserver's XDG_RUNTIME_DIR warning, as above
        from pgserver.utils import PostmasterInfo

    if not (PGDATA / "PG_VERSION").exists():
        return None
    info = PostmasterInfo.read_from_pgdata(PGDATA)
    return info if info and info.is_running() and info.status == "ready" else None


def is_running() -> bool:
    return _running_info() is not None


def ensure_running() -> dict:
    """Start the embedded server if needed and return Django DATABASES settings for it.

    When it already runs, only its postmaster file is read: every gunicorn worker, task worker
    and test process loads settings, and none of them needs pgserver's own bookkeeping.
    """
    info = _running_info()
    if info is None:
        server = _server()
        info = server.get_postmaster_info()
        # DB_NAME is a constant of ours, not input.
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")  # noqa: S608  # nosec
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{DB_NAME}";')
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DB_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port),
    }


def database_url() -> str:
    """Start the embedded server if needed and return a DATABASE_URL for it: its Unix socket's
    folder, percent-encoded, stands where a host name would."""
    db = ensure_running()
    return f"postgresql://{db['USER']}@{quote(db['HOST'], safe='')}:{db['PORT']}/{db['NAME']}"


def stop() -> None:
    if not is_running():
        return
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(cmd: list[str]) -> int:
    """Run cmd with the embedded server up; stop it afterwards if this call started it.

    On Ctrl-C (or SIGTERM) cmd is given time to stop its own children before the database goes:
    subprocess.call would SIGKILL it at once and leave its children running.
    """
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    env = os.environ.copy()
    started_here = not env.get("DATABASE_URL") and not is_running()
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = database_url()
    child = subprocess.Popen(cmd, env=env)  # noqa: S603
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                # A terminal's Ctrl-C reached cmd too; a SIGTERM sent to us alone did not.
                child.send_signal(signal.SIGINT)
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                return 130
    finally:
        if started_here:
            stop()


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    action, rest = argv[0], argv[1:]
    if action == "run":
        if rest and rest[0] == "--":
            rest = rest[1:]
        return run(rest)
    if action == "start":
        ensure_running()
        return 0
    if action == "stop":
        stop()
        return 0
    if action == "url":
        print(database_url())
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
