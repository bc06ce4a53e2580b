"""`make serve`: the production shape on this machine.

DEBUG off, static files collected and served by WhiteNoise, gunicorn with a worker per core, and
one task worker beside it. A local secret key is generated once into a git-ignored file when
DJANGO_SECRET_KEY is unset, so the command works on a fresh clone; real deployments set it.
"""

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


def main() -> int:
    port = os.environ.get("PORT", "8000")
    env = os.environ.copy()
    env.setdefault("DJANGO_DEBUG", "false")
    env.setdefault("DJANGO_SECRET_KEY", local_secret_key())
    env.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    # Plain http on loopback: secure-only cookies would never come back.
    env.setdefault("DJANGO_SECURE_COOKIES", "false")

    def manage(*args):
        subprocess.run([PYTHON, "manage.py", *args], check=True, env=env)  # noqa: S603

    manage("migrate", "--noinput")
    manage("createcachetable")
    manage("collectstatic", "--noinput", "--verbosity", "0")
    workers = str(int(env.get("WEB_CONCURRENCY", os.cpu_count() or 1)))
    children = [
        subprocess.Popen(  # noqa: S603
            [
                PYTHON,
                "-m",
                "gunicorn",
                "futureforward.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                workers,
                "--timeout",
                "30",
                "--graceful-timeout",
                "20",
                "--access-logfile",
                "-",
            ],
            env=env,
        ),
        subprocess.Popen([PYTHON, "manage.py", "db_worker"], env=env),  # noqa: S603
    ]
    print(f"\nServing the production shape at http://127.0.0.1:{port}/ (Ctrl-C stops it)\n")
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
