"""A loopback SMTP sink in its own process, for the tests that run real task workers.

    python -m tests.newsletter.smtp_sink PORT DIRECTORY

Every accepted message is written to DIRECTORY/<n>.eml. The test controls the server through
files in DIRECTORY: while `kill` holds "PID N", the server SIGKILLs PID when the N+1th message
arrives (before accepting it, so that message is not delivered) and then removes the file;
while `leave` holds "N", the server itself exits at once when the N+1th message arrives (a mail
server going away mid-send); every address listed in `refuse` is refused at RCPT with a 550.
`hold` holding "N SECONDS" makes the server answer no message until N client connections are
open at once, or SECONDS have passed (then it writes `hold-expired`); either way it answers as
usual from then on. `peak` holds the most client connections that were open at once.
It runs in a process of its own because an aiosmtpd thread inside the test process answers
other processes' connections slowly.
"""

import asyncio
import os
import signal
import sys
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()
        self.open = 0
        self.peak = 0
        self.hold: tuple[int, float] | None = None  # (connections wanted, monotonic deadline)

    def connected(self, change: int) -> None:
        self.open += change
        if self.open > self.peak:
            self.peak = self.open
            (self.directory / "peak").write_text(str(self.peak))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refuse = self.directory / "refuse"
        if refuse.exists() and address in refuse.read_text().split():
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def wait_for_connections(self) -> None:
        """Keep the message unanswered while a `hold` asks for more open connections."""
        hold = self.directory / "hold"
        if self.hold is None and hold.exists():
            wanted, seconds = hold.read_text().split()
            self.hold = (int(wanted), time.monotonic() + float(seconds))
            hold.unlink()
        while self.hold is not None:
            wanted, deadline = self.hold
            if self.open >= wanted:
                self.hold = None
            elif time.monotonic() >= deadline:
                self.hold = None
                (self.directory / "hold-expired").write_text(f"{self.open} of {wanted} open")
            else:
                await asyncio.sleep(0.01)  # other connections are accepted meanwhile

    async def handle_DATA(self, server, session, envelope):
        await self.wait_for_connections()
        leave = self.directory / "leave"
        if leave.exists() and self.count >= int(leave.read_text()):
            os._exit(0)  # gone, mid-conversation, without answering
        kill = self.directory / "kill"
        if kill.exists():
            pid, at = (int(value) for value in kill.read_text().split())
            if self.count >= at:
                kill.unlink()
                os.kill(pid, signal.SIGKILL)
                return "451 4.3.0 Sender went away"
        with self.lock:
            self.count += 1
            number = self.count
        path = self.directory / f"{number:06d}.eml"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(envelope.content)
        temporary.rename(path)
        return "250 Message accepted for delivery"


class CountingSMTP(SMTP):
    """aiosmtpd's server, telling the sink when a client connects and leaves."""

    def connection_made(self, transport):
        self.event_handler.connected(1)
        super().connection_made(transport)

    def connection_lost(self, error):
        self.event_handler.connected(-1)
        super().connection_lost(error)


class CountingController(Controller):
    def factory(self):
        return CountingSMTP(self.handler, **self.SMTP_kwargs)


def main() -> None:
    port, directory = int(sys.argv[1]), Path(sys.argv[2])
    controller = CountingController(
        Sink(directory), hostname="127.0.0.1", port=port, server_hostname="smtp.test"
    )
    controller.start()
    (directory / "ready").touch()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
