"""`make serve`: the production shape on this machine.

The same three processes a deployment runs (see the Procfile), with DEBUG off:

1. release: `python -m futureforward.release` (migrate, cache table, collectstatic);
2. web: gunicorn with futureforward/gunicorn_conf.py (a worker per core, timeouts, JSON logs),
   static files compressed and cache-busted by WhiteNoise, uploads served from local disk;
3. worker: `python -m futureforward.worker` (db_worker that survives database restarts).

Only what plain HTTP on loopback needs differs from a real deployment, and only as defaults the
environment can override: no HTTPS redirect, cookies without the Secure flag, and a secret key
generated once into a git-ignored file so a fresh clone works. Real deployments set
DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS themselves.

When a process dies (this module is their supervisor here, as a platform's is in production):

- the task worker is started again, after 1 s, then 2, 4, ... up to 30 s while it keeps dying
  at once (a worker that ran a minute starts the count over); the site keeps serving meanwhile,
  and each death and restart is logged on stderr;
- gunicorn is not: its master already restarts its own crashed web workers, so the master itself
  dying means something a restart would hide (a port taken, a broken config, a kill from
  outside). The worker is then stopped gracefully and `make serve` exits with status 1, so
  whoever runs it sees the failure, and a supervisor above it starts it again.
"""

import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WORKER_RESTART_FIRST_DELAY = 1.0
WORKER_RESTART_MAX_DELAY = 30.0
# A worker that ran this long before dying was healthy: the next restart waits the first delay.
WORKER_HEALTHY_RUN = 60.0


def local_secret_key() -> str:
    path = PROJECT_DIR / ".local-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def serve_env(port: str) -> dict[str, str]:
    """Return the environment for every process: the caller's, plus loopback defaults."""
    env = os.environ.copy()
    env.setdefault("DJANGO_DEBUG", "false")
    if not env.get("DJANGO_SECRET_KEY"):
        env["DJANGO_SECRET_KEY"] = local_secret_key()
    env.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    # Plain http on loopback: secure-only cookies would never come back, and there is no HTTPS
    # to redirect to.
    env.setdefault("DJANGO_SECURE_COOKIES", "false")
    env.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
    if not env.get("DATABASE_URL"):
        # Hand the embedded server to every process as a plain DATABASE_URL: the children then
        # take the deployed code path, and none of them touches the embedded server's own files.
        from futureforward.pgembed import database_url

        env["DATABASE_URL"] = database_url()
    return env


def _stop_requested(signum, frame):
    raise KeyboardInterrupt


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if this process dies, even by SIGKILL (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: Ctrl-C and kill still stop the children through main()


def say(message: str) -> None:
    # stdout carries the JSON logs; these lines are for the person at the terminal.
    print(f"serve: {message}", file=sys.stderr, flush=True)


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def start_child(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [PYTHON, *args],
        env=env,
        # Own sessions: Ctrl-C in the terminal reaches only this process, which then stops
        # each child gracefully with SIGTERM. (gunicorn takes SIGINT as "quit now", cutting
        # requests in flight, and a worker hit twice abandons its task.)
        start_new_session=True,
        preexec_fn=_die_with_parent,  # safe: this process runs no threads
    )


def main() -> int:
    port = os.environ.get("PORT", "8000")
    env = serve_env(port)
    # `kill` stops it like Ctrl-C does.
    signal.signal(signal.SIGTERM, _stop_requested)
    subprocess.run([PYTHON, "-m", "futureforward.release"], check=True, env=env)  # noqa: S603
    web_args = [
        "-m",
        "gunicorn",
        "--config",
        "python:futureforward.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
        "futureforward.wsgi:application",
    ]
    worker_args = ["-m", "futureforward.worker"]
    web = start_child(web_args, env)
    worker: subprocess.Popen | None = start_child(worker_args, env)
    worker_started = time.monotonic()
    restart_delay = WORKER_RESTART_FIRST_DELAY
    restart_at = 0.0
    print(
        f"\nServing the production shape at http://127.0.0.1:{port}/ (Ctrl-C stops it)\n",
        file=sys.stderr,
    )
    interrupted = False
    try:
        while web.poll() is None:
            if worker is not None and worker.poll() is not None:
                if time.monotonic() - worker_started > WORKER_HEALTHY_RUN:
                    restart_delay = WORKER_RESTART_FIRST_DELAY
                say(
                    f"the task worker (pid {worker.pid}) stopped: "
                    f"{how_it_ended(worker.returncode)}; "
                    f"starting a new one in {restart_delay:.0f} s"
                )
                restart_at = time.monotonic() + restart_delay
                restart_delay = min(restart_delay * 2, WORKER_RESTART_MAX_DELAY)
                worker = None
            if worker is None and time.monotonic() >= restart_at:
                worker = start_child(worker_args, env)
                worker_started = time.monotonic()
                say(f"started a new task worker (pid {worker.pid})")
            time.sleep(0.5)
        say(
            f"the web server (gunicorn, pid {web.pid}) stopped: {how_it_ended(web.returncode)}; "
            "stopping the task worker"
        )
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        children = [child for child in (web, worker) if child is not None]
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=35)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
    # Ctrl-C is the normal way to stop, even if it caught a process still starting up; the web
    # server dying by itself is a failure.
    return 0 if interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
