"""`make run`: prepare the database, load the demo, then run the web server and a task worker.

Ctrl-C stops both children; the Makefile's `pgembed run` wrapper then stops the embedded
PostgreSQL if it started it.
"""

import os
import signal
import subprocess
import sys
import time

PYTHON = sys.executable


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], check=True)  # noqa: S603


def main() -> int:
    port = os.environ.get("PORT", "8000")
    manage("migrate", "--noinput")
    manage("createcachetable")
    manage("seed_demo")
    print(f"\nFuture Forward is at http://127.0.0.1:{port}/  (Ctrl-C stops everything)\n")
    children = [
        subprocess.Popen([PYTHON, "manage.py", "db_worker"]),  # noqa: S603
        subprocess.Popen([PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}"]),  # noqa: S603
    ]
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
