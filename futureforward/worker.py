"""`python -m futureforward.worker`: the task worker, as deployed.

It is django-tasks' `manage.py db_worker` (any of its options may follow), with one difference:
when the database goes away (a restart, a failover, a network blip) the stock worker exits with
the error, and here it waits and starts again, so a PostgreSQL restart does not need a person or
a process supervisor to bring the workers back. Any number of workers may run against one
database: each claims a task with SELECT ... FOR UPDATE SKIP LOCKED, so no task runs twice.

It takes tasks from every queue unless given `--queue-name` (db_worker's own default is only
"default"), so a queue added later is never left without a worker.

With TASKS_BACKEND=rq the queue is in Redis and this runs RQ's worker instead (django-rq's
`rqworker`, with its scheduler and django-tasks-rq's job class), each task in this process.

SIGTERM or Ctrl-C stops it the stock way: after the task in hand, or at once when idle.
"""

import contextlib
import logging
import os
import sys
import time

RETRY_FIRST_DELAY = 1.0
RETRY_MAX_DELAY = 30.0
# A worker that ran this long before failing was healthy; start the back-off from the beginning.
HEALTHY_RUN = 60.0

logger = logging.getLogger("futureforward.worker")


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "futureforward.settings")
    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command
    from django.db import InterfaceError, OperationalError, connections

    if settings.TASKS_BACKEND == "rq":
        # The queue lives in Redis (TASKS_BACKEND=rq): RQ's worker, with its scheduler for the
        # tasks that run later, and the job class through which django-tasks runs a task. The
        # simple worker runs each task in this process, as db_worker does: RQ's default forks
        # a process per task, which costs more than a send's batch of short tasks gains.
        call_command(
            "rqworker",
            "--job-class",
            "django_tasks_rq.Job",
            "--worker-class",
            "rq.worker.SimpleWorker",
            "--with-scheduler",
            *argv,
            "default",
        )
        return 0
    if not any(arg.startswith("--queue-name") for arg in argv):
        argv = ["--queue-name", "*", *argv]
    delay = RETRY_FIRST_DELAY
    while True:
        started = time.monotonic()
        try:
            call_command("db_worker", *argv)
            return 0
        except (OperationalError, InterfaceError):
            if time.monotonic() - started > HEALTHY_RUN:
                delay = RETRY_FIRST_DELAY
            logger.warning(
                "The database is unavailable; the worker starts again in %.0f s.",
                delay,
                exc_info=True,
            )
            # Drop the broken connection so the next attempt opens a fresh one.
            for connection in connections.all(initialized_only=True):
                with contextlib.suppress(OperationalError, InterfaceError):
                    connection.close()
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_DELAY)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
