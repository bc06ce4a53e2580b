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


def main() -> int:
    port = os.environ.get("PORT", "8000")
    env = serve_env(port)
    # `kill` stops it like Ctrl-C does.
    signal.signal(signal.SIGTERM, _stop_requested)
    subprocess.run([PYTHON, "-m", "futureforward.release"], check=True, env=env)  # noqa: S603
    children = [
        subprocess.Popen(  # noqa: S603
            [
                PYTHON,
                "-m",
                "gunicorn",
                "--config",
                "python:futureforward.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
                "futureforward.wsgi:application",
            ],
            env=env,
            # Own sessions: Ctrl-C in the terminal reaches only this process, which then stops
            # each child gracefully with SIGTERM. (gunicorn takes SIGINT as "quit now", cutting
            # requests in flight, and a worker hit twice abandons its task.)
            start_new_session=True,
            preexec_fn=_die_with_parent,  # safe: this process runs no threads
        ),
        subprocess.Popen(  # noqa: S603
            [PYTHON, "-m", "futureforward.worker"],
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        ),
    ]
    print(
        f"\nServing the production shape at http://127.0.0.1:{port}/ (Ctrl-C stops it)\n",
        # stdout carries the JSON logs; this line is for the person at the terminal.
        file=sys.stderr,
    )
    interrupted = False
    try:
        # If either process dies, stop the other: a half-running site would hide the failure.
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=35)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
    # Ctrl-C is the normal way to stop, even if it caught a process still starting up; a child
    # that died by itself is a failure.
    return 0 if interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
