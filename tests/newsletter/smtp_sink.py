"""A loopback SMTP sink in its own process, for the tests that run real task workers.

    python -m tests.newsletter.smtp_sink PORT DIRECTORY

Every accepted message is written to DIRECTORY/<n>.eml. The test controls the server through
files in DIRECTORY: while `kill` holds "PID N", the server SIGKILLs PID when the N+1th message
arrives (before accepting it, so that message is not delivered) and then removes the file.
It runs in a process of its own because an aiosmtpd thread inside the test process answers
other processes' connections slowly.
"""

import os
import signal
import sys
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
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


def main() -> None:
    port, directory = int(sys.argv[1]), Path(sys.argv[2])
    controller = Controller(
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
