"""`make run`: prepare the database, load the demo, then run the web server and a task worker.

Ctrl-C stops both children; the Makefile's `pgembed run` wrapper then stops the embedded
PostgreSQL if it started it.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time

PYTHON = sys.executable


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], check=True)  # noqa: S603


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    # Handle Ctrl-C and SIGTERM even when started with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    port = os.environ.get("PORT", "8000")
    manage("migrate", "--noinput")
    manage("createcachetable")
    manage("seed_demo")
    print(f"\nFuture Forward is at http://127.0.0.1:{port}/  (Ctrl-C stops everything)\n")
    # Each child leads its own process group, so stopping it reaches its own children too
    # (runserver's autoreloader runs the server in a child process).
    children = [
        subprocess.Popen([PYTHON, "manage.py", "db_worker"], start_new_session=True),  # noqa: S603
        subprocess.Popen(  # noqa: S603
            [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}"], start_new_session=True
        ),
    ]
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        # One stop is enough: a second Ctrl-C (or the wrapper passing one on) must not cut the
        # clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # SIGTERM, not SIGINT: a process caught still starting up (runserver's autoreloader
        # starts its server anew after a code change) dies of it quietly, where SIGINT would
        # print a KeyboardInterrupt traceback. Both children shut down cleanly on it.
        for child in children:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(child, signal.SIGKILL)
    return 0


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    # ProcessLookupError: already gone, with its whole group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


if __name__ == "__main__":
    sys.exit(main())
