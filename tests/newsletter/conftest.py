"""Fixtures for the newsletter tests: a real SMTP listener on loopback and real task workers."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingHandler:
    """An SMTP server that keeps every accepted message, and can misbehave on request.

    refuse: {address: "550 ..."} answers RCPT for that address with the given reply.
    on_data: called as on_data(handler, server, envelope) before a message is accepted; a
    returned reply string is sent instead of 250 and the message is not kept.
    """

    def __init__(self):
        self.raw: list[bytes] = []
        self.lock = threading.Lock()
        self.refuse: dict[str, str] = {}
        self.on_data = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.on_data is not None:
            reply = self.on_data(self, server, envelope)
            if reply:
                return reply
        with self.lock:
            self.raw.append(envelope.content)
        return "250 Message accepted for delivery"

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.raw)

    @property
    def messages(self):
        """The accepted messages, parsed (only when a test asks, to keep the server quick)."""
        with self.lock:
            raw = list(self.raw)
        return parse_messages(raw)

    def recipients(self) -> list[str]:
        return [message["To"] for message in self.messages]


class SMTPListener:
    def __init__(self, port: int):
        self.port = port
        self.handler = RecordingHandler()
        self.controller = None

    def start(self):
        # A fixed server_hostname: aiosmtpd otherwise looks up its FQDN on every connection.
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, server_hostname="smtp.test"
        )
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture
def smtp(smtp_port, settings):
    """A running SMTP listener, with Django's mail settings pointing at it."""
    listener = SMTPListener(smtp_port).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield listener
    listener.stop()


@pytest.fixture
def fast_newsletter(settings):
    """Small batches and no waiting, so a few hundred subscribers exercise the whole pipeline."""
    settings.NEWSLETTER_BATCH_SIZE = 20
    settings.NEWSLETTER_PARALLEL = 3
    settings.NEWSLETTER_RETRY_SECONDS = 0
    settings.NEWSLETTER_LEASE_SECONDS = 60
    return settings


# --- An SMTP sink in its own process, and real task workers (`manage.py db_worker`) ---


def parse_messages(raw: list[bytes]):
    return [message_from_bytes(content, policy=default_policy) for content in raw]


class SinkProcess:
    """tests/newsletter/smtp_sink.py in a subprocess; messages land in files the test reads."""

    def __init__(self, port: int, directory: Path):
        self.port = port
        self.directory = directory
        self.process = None

    def start(self) -> "SinkProcess":
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.newsletter.smtp_sink",
                str(self.port),
                str(self.directory),
            ],
            cwd=PROJECT_DIR,
        )
        wait_for(lambda: (self.directory / "ready").exists(), timeout=15, message="no SMTP sink")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def kill_when(self, pid: int, *, accepted: int) -> None:
        """SIGKILL process `pid` when a message arrives after `accepted` were accepted."""
        (self.directory / "kill").write_text(f"{pid} {accepted}")

    def refuse(self, *addresses: str) -> None:
        """Refuse these recipients for good (550 at RCPT)."""
        (self.directory / "refuse").write_text("\n".join(addresses))

    def hold_until_connections(self, count: int, *, seconds: float = 20) -> None:
        """Answer no message until `count` client connections are open at once, for at most
        `seconds`; `hold_expired` then says how many were open."""
        (self.directory / "hold").write_text(f"{count} {seconds}")

    @property
    def hold_expired(self) -> str:
        expired = self.directory / "hold-expired"
        return expired.read_text() if expired.exists() else ""

    def leave_after(self, accepted: int) -> None:
        """Make the server exit, unanswered, when a message arrives after `accepted`."""
        (self.directory / "leave").write_text(str(accepted))

    @property
    def peak_connections(self) -> int:
        """The most client connections that were open at once."""
        peak = self.directory / "peak"
        return int(peak.read_text()) if peak.exists() else 0

    @property
    def count(self) -> int:
        return len(list(self.directory.glob("*.eml")))

    @property
    def messages(self):
        return parse_messages([path.read_bytes() for path in sorted(self.directory.glob("*.eml"))])

    def recipients(self) -> list[str]:
        return [message["To"] for message in self.messages]


@pytest.fixture
def start_sink(tmp_path):
    sinks: list[SinkProcess] = []

    def start(port: int) -> SinkProcess:
        sink = SinkProcess(port, tmp_path / f"sink-{len(sinks)}").start()
        sinks.append(sink)
        return sink

    yield start
    for sink in sinks:
        sink.stop()


def worker_env(smtp_port: int, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    host = quote(db["HOST"], safe="")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "futureforward.settings",
        "DATABASE_URL": f"postgresql://{db['USER']}@{host}:{db['PORT']}/{db['NAME']}",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "SITE_URL": "http://testserver",
        "NEWSLETTER_BATCH_SIZE": "20",
        "NEWSLETTER_PARALLEL": "4",
        "NEWSLETTER_LEASE_SECONDS": "2",
        "NEWSLETTER_RETRY_SECONDS": "0.5",
        "NEWSLETTER_RETRY_MAX_SECONDS": "2",
        "NEWSLETTER_WATCHDOG_SECONDS": "1",
        "NEWSLETTER_STALL_SECONDS": "3",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("EMAIL_URL", None)
    env.pop("EMAIL_BACKEND", None)
    env.update(extra)
    return env


class Worker:
    """One `manage.py db_worker` process, its output in a file so it can never block on a pipe."""

    def __init__(self, env: dict[str, str], log_path: Path, name: str):
        self.name = name
        self.log_path = log_path
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.1",
                "--worker-id",
                name,
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_started(self, timeout: float = 90) -> None:
        """Wait until the worker says it has started (Django loaded, the queue about to be
        polled). That takes a few seconds on a quiet machine and far longer on one busy with
        other tests: a start of over 15 seconds, the limit this had, failed a full test run."""
        deadline = time.monotonic() + timeout
        while "Starting worker" not in self.output():
            assert self.process.poll() is None, f"worker {self.name} exited:\n{self.output()}"
            assert time.monotonic() < deadline, (
                f"worker {self.name} did not start within {timeout} s:\n{self.output()}"
            )
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture
def start_worker(tmp_path, settings):
    """Start real workers on the database task backend; stop them all after the test."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    workers: list[Worker] = []

    def start(smtp_port: int, name: str = "", **extra: str) -> Worker:
        name = name or f"worker-{len(workers) + 1}"
        worker = Worker(worker_env(smtp_port, **extra), tmp_path / f"{name}.log", name)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(condition, *, timeout: float = 20, interval: float = 0.1, message=""):
    """Poll `condition` until it returns a truthy value; fail with `message` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, message() if callable(message) else message
        time.sleep(interval)
