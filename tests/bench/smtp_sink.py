"""A loopback SMTP sink for `make bench`, in a process of its own:

    python -m tests.bench.smtp_sink PORT COUNT_FILE

It accepts every message and throws it away (a bench measures the sender, not a disk), and
writes how many it has accepted so far to COUNT_FILE a few times a second, so the harness can
watch a send progress without talking SMTP itself. aiosmtpd runs in this process alone because
a sink thread inside a busy process answers slowly and would make the ceiling lower than it is.
"""

import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class CountingSink:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
        return "250 Message accepted for delivery"


def main() -> None:
    port, count_file = int(sys.argv[1]), Path(sys.argv[2])
    sink = CountingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="sink.bench")
    controller.start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *args: stopping.set())
    try:
        while not stopping.is_set():
            temporary = count_file.with_suffix(".tmp")
            temporary.write_text(str(sink.count))
            temporary.replace(count_file)
            stopping.wait(0.2)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
