"""Django's PostgreSQL backend, with one change: opening a connection is retried for a few
seconds before the request fails.

Persistent connections with health checks already make every process reconnect by itself after
PostgreSQL restarts. Without this, though, every request that arrives in the second or two the
server takes to come back fails at once with a 500; with it, those requests wait and succeed, and
a restart costs only the few requests whose queries were running at the moment it happened.

CONNECT_RETRY_SECONDS in the DATABASES entry bounds the wait (0 turns retrying off). A refused
password or a missing database is retried too, for that long, and then reported as usual.
"""

import logging
import time

from django.db.backends.postgresql import base

logger = logging.getLogger(__name__)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        deadline = time.monotonic() + float(self.settings_dict.get("CONNECT_RETRY_SECONDS", 0))
        delay = 0.1
        while True:
            try:
                return super().get_new_connection(conn_params)
            except self.Database.OperationalError as error:
                if time.monotonic() + delay > deadline:
                    raise
                logger.info("PostgreSQL is not accepting connections yet (%s); retrying.", error)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
