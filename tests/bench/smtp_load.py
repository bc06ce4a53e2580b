"""One process of the SMTP sink's ceiling in `make bench`:

    python -m tests.bench.smtp_load HOST PORT MESSAGE_FILE START_AT SECONDS CONNECTIONS

Opens CONNECTIONS smtplib connections (a thread each, as a task worker does), waits until the
wall-clock time START_AT so every process of a turn begins together, then sends the finished
message (dot-stuffed once) over each connection, one after another, until SECONDS have passed;
prints how many messages the server accepted. The harness starts one such process per task
worker, so the sink is measured with as many connections, from as many processes, as the send
will use.
"""

import smtplib
import sys
import threading
import time
from pathlib import Path


def main() -> None:
    host, port, message_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    start_at, seconds, connections = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    # Dot-stuffed once, as the send's prepared messages are (newsletter/prepared.py): the ceiling
    # measures the sink, not smtplib searching every message for lines that start with a dot.
    message = message_file.read_bytes().removesuffix(b"\r\n") + b"\r\n"
    message = message.replace(b"\r\n.", b"\r\n..")
    counts = [0] * connections

    def send(smtp: smtplib.SMTP, recipient: str) -> None:
        for code, expected in (
            (smtp.mail("newsletter@bench.example")[0], 250),
            (smtp.rcpt(recipient)[0], 250),
            (smtp.docmd("data")[0], 354),
        ):
            if code != expected:
                raise RuntimeError(f"The sink answered {code}.")
        smtp.send(message + b".\r\n")
        if smtp.getreply()[0] != 250:
            raise RuntimeError("The sink refused a message.")

    def run(index: int) -> None:
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            smtp.ehlo()
            time.sleep(max(0.0, start_at - time.time()))
            stop = time.monotonic() + seconds
            while time.monotonic() < stop:
                send(smtp, f"reader{index}-{counts[index]}@bench.example")
                counts[index] += 1

    threads = [threading.Thread(target=run, args=(index,)) for index in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(sum(counts))


if __name__ == "__main__":
    main()
