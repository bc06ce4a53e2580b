import threading
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from tests.production.procs import production_env, run_manage


@pytest.fixture(scope="session")
def production_dirs(tmp_path_factory, django_db_setup):
    """Static files collected once with DEBUG off (hashed, compressed), and an empty media dir.

    Depends on django_db_setup so the test database exists before any server points at it.
    """
    root = tmp_path_factory.mktemp("production")
    dirs = {"DJANGO_STATIC_ROOT": str(root / "static"), "DJANGO_MEDIA_ROOT": str(root / "media")}
    result = run_manage("collectstatic", "--noinput", "-v0", env=production_env(**dirs))
    assert result.returncode == 0, result.stderr
    return dirs


class Mailbox:
    """What a real SMTP server on loopback received."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def parsed(self) -> list:
        """Return every message received so far, parsed (headers decoded, parts readable)."""
        with self.lock:
            raw = [content for _, _, content in self.messages]
        return [message_from_bytes(content, policy=default_policy) for content in raw]

    def count_to(self, address: str) -> int:
        with self.lock:
            return sum(address in recipients for _, recipients, _ in self.messages)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


@pytest.fixture(scope="module")
def smtp_server():
    from aiosmtpd.controller import Controller

    from tests.production.procs import free_port

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()
