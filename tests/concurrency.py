"""Requests arriving at the same moment, on real PostgreSQL connections in real threads."""

import threading

from django.db import connection


def run_at_once(count, work):
    """Run work(i) in count threads released together; return results or exceptions, in order."""
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def worker(index):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = work(index)
        except Exception as error:  # collected, and asserted on by the test
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def failures(outcomes) -> list[Exception]:
    return [outcome for outcome in outcomes if isinstance(outcome, Exception)]
