"""One process of the SMTP sink's ceiling in `make bench`:

    python -m tests.bench.smtp_load HOST PORT MESSAGE_FILE START_AT SECONDS CONNECTIONS

Opens CONNECTIONS smtplib connections (a thread each, as a task worker does), waits until the
wall-clock time START_AT so every process of a turn begins together, then sends the finished
message over each connection, one after another, until SECONDS have passed; prints how many
messages the server accepted. The harness starts one such process per task worker, so the sink
is measured with as many connections, from as many processes, as the send will use.
"""

import smtplib
import sys
import threading
import time
from pathlib import Path


def main() -> None:
    host, port, message_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    start_at, seconds, connections = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    message = message_file.read_bytes()
    counts = [0] * connections

    def run(index: int) -> None:
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            smtp.ehlo()
            time.sleep(max(0.0, start_at - time.time()))
            stop = time.monotonic() + seconds
            while time.monotonic() < stop:
                smtp.sendmail(
                    "newsletter@bench.example", [f"reader{index}-{counts[index]}@bench.example"],
                    message,
                )  # fmt: skip
                counts[index] += 1

    threads = [threading.Thread(target=run, args=(index,)) for index in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(sum(counts))


if __name__ == "__main__":
    main()
