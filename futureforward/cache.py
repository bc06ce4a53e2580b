"""The shared cache in PostgreSQL, one statement per write.

Rate limits write to the cache on every vote, reaction and comment. Django's database cache
spends five round trips on each write: a COUNT(*) of the whole table (to decide on culling),
then a transaction with a SELECT and an INSERT or UPDATE. This backend writes with one
INSERT ... ON CONFLICT and removes expired rows on a small share of writes instead of counting
the table every time. Reads are Django's. With REDIS_URL set, Redis is used instead.
"""

from __future__ import annotations

import base64
import pickle  # nosec B403 (values written by this app only, as Django's own DatabaseCache does)
import random
from datetime import UTC, datetime

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router


class PostgresCache(DatabaseCache):
    # About one write in this many also deletes what has expired (Django's MAX_ENTRIES
    # culling is not done: every entry here expires, rate-limit counts within minutes).
    PURGE_EVERY = 200

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        self._write(key, value, timeout, only_if_missing=False)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        return self._write(key, value, timeout, only_if_missing=True)

    def _write(self, key, value, timeout, *, only_if_missing: bool) -> bool:
        timeout = self.get_backend_timeout(timeout)
        expires = (
            datetime.max.replace(tzinfo=UTC)
            if timeout is None
            else datetime.fromtimestamp(timeout, tz=UTC)
        ).replace(microsecond=0)
        encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        # add() only replaces an entry that has expired; set() always does.
        condition = f"WHERE {table}.expires < statement_timestamp()" if only_if_missing else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s) "  # noqa: S608  # nosec
                "ON CONFLICT (cache_key) DO UPDATE "
                f"SET value = EXCLUDED.value, expires = EXCLUDED.expires {condition} "
                "RETURNING cache_key",
                [key, encoded, connection.ops.adapt_datetimefield_value(expires)],
            )
            written = cursor.fetchone() is not None
            if random.randrange(self.PURGE_EVERY) == 0:  # noqa: S311 (not security)  # nosec
                cursor.execute(f"DELETE FROM {table} WHERE expires < statement_timestamp()")  # noqa: S608  # nosec
        return written
