"""Real processes for the production tests: gunicorn servers, task workers, Django one-offs, and a
small HTTP client that keeps cookies the way a browser does.

Everything listens on loopback only, every wait is bounded, and every process is stopped by the
fixture that started it.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
STRONG_KEY = secrets.token_urlsafe(50)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """Return a DATABASE_URL for the database this pytest session uses (the test database)."""
    db = settings.DATABASES["default"]
    query = urlencode({"host": db["HOST"], "port": db["PORT"]})
    return f"postgresql://{db['USER']}@/{db['NAME']}?{query}"


def production_env(**overrides: str) -> dict[str, str]:
    """Return an environment for a DEBUG-off process on the test database; overrides win."""
    env = {
        key: value
        for key, value in os.environ.items()
        # Start from a clean slate for every setting we read; the caller's shell may set some.
        if not key.startswith(("DJANGO_", "AWS_", "SENTRY_", "GUNICORN_"))
        and key not in {"REDIS_URL", "EMAIL_URL", "EMAIL_HOST", "WEB_CONCURRENCY", "PORT"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "futureforward.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": STRONG_KEY,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url(),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def run_python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run Python code in a fresh interpreter in the project directory."""
    return subprocess.run(  # noqa: S603
        [PYTHON, "-c", code],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_manage(*args: str, env: dict[str, str], timeout: float = 120):
    return subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll predicate until it returns something truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(interval)


class Process:
    """A child process with its output in a log file; stop() ends it and its children."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.err_path = log_dir / f"{name}.err"
        self._out = self.log_path.open("w")
        self._err = self.err_path.open("w")
        self.popen = subprocess.Popen(  # noqa: S603
            args,
            cwd=PROJECT_DIR,
            env=env,
            stdout=self._out,
            stderr=self._err,
            start_new_session=True,  # its own group, so stop() reaches gunicorn's workers too
        )

    def is_running(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text() + self.err_path.read_text()

    def stop(self, timeout: float = 15) -> None:
        if self.is_running():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        self._out.close()
        self._err.close()


class Gunicorn(Process):
    def __init__(self, name: str, env: dict[str, str], log_dir: Path, workers: int = 2):
        self.port = free_port()
        super().__init__(
            name,
            [
                PYTHON,
                "-m",
                "gunicorn",
                "--config",
                "python:futureforward.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "futureforward.wsgi:application",
            ],
            env,
            log_dir,
        )

    def wait_until_up(self, timeout: float = 30) -> None:
        def up():
            assert self.is_running(), f"{self.name} exited:\n{self.output()}"
            return get(self.port, "/healthz").status == 200

        wait_until(up, timeout=timeout, what=f"{self.name} to answer /healthz")


class Worker(Process):
    def __init__(self, name: str, env: dict[str, str], log_dir: Path):
        self.worker_id = f"{name}-{secrets.token_hex(4)}"
        super().__init__(
            name,
            [
                PYTHON,
                "-m",
                "futureforward.worker",
                "--interval",
                "0.2",
                "--no-startup-delay",
                "--worker-id",
                self.worker_id,
            ],
            env,
            log_dir,
        )


# --- HTTP ---


@dataclass
class Response:
    status: int | None  # None: the connection failed (refused, reset, timed out)
    headers: dict = field(default_factory=dict)
    text: str = ""

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


def get(port: int, path: str, *, timeout: float = 20) -> Response:
    return Visitor().request(port, "GET", path, timeout=timeout)


class Visitor:
    """One browser: cookies shared by every server on 127.0.0.1, like behind a load balancer.

    forwarded_for is sent as X-Forwarded-For, as the load balancer in front would; the servers
    trust one proxy, so it becomes the reader's IP for rate limits.
    """

    def __init__(self, forwarded_for: str = "", cookies: dict[str, str] | None = None):
        self.forwarded_for = forwarded_for
        self.cookies: dict[str, str] = dict(cookies or {})

    def request(
        self,
        port: int,
        method: str,
        path: str,
        form: dict | None = None,
        *,
        timeout: float = 20,
        **extra_headers: str,
    ) -> Response:
        headers = {key.replace("_", "-"): value for key, value in extra_headers.items()}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            raw = connection.getresponse()
            text = raw.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            return Response(None)
        finally:
            connection.close()
        for header in raw.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Response(raw.status, {k.lower(): v for k, v in raw.headers.items()}, text)

    def form_token(self, port: int, path: str) -> str:
        """GET a page holding a form and return its CSRF token.

        The token stays valid for this visitor's later POSTs, on either server, as long as the
        CSRF cookie it came with does.
        """
        page = self.request(port, "GET", path)
        assert page.status == 200, f"GET {path} answered {page.status}"
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post_form(self, port: int, path: str, form: dict, *, form_page: str = "") -> Response:
        """GET the page holding the form (for the CSRF token), then POST to path."""
        page = self.request(port, "GET", form_page or path)
        if page.status != 200:
            return page
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert match, f"no CSRF token on {form_page or path}"
        return self.request(port, "POST", path, {**form, "csrfmiddlewaretoken": match.group(1)})
