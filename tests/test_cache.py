"""The shared cache in PostgreSQL (futureforward/cache.py) behaves like Django's database cache,
which rate limits and login codes rely on, while writing in one statement."""

import pytest
from django.core.cache import cache, caches
from django.db import connection

from futureforward.cache import PostgresCache

pytestmark = pytest.mark.django_db


def test_it_is_the_default_cache_without_redis():
    assert isinstance(caches["default"], PostgresCache)


def test_set_get_overwrite_and_delete():
    cache.set("greeting", {"text": "hello"}, 60)
    assert cache.get("greeting") == {"text": "hello"}
    cache.set("greeting", ["changed"], 60)
    assert cache.get("greeting") == ["changed"]
    cache.delete("greeting")
    assert cache.get("greeting", "gone") == "gone"


def test_add_keeps_a_live_entry_and_replaces_an_expired_one():
    assert cache.add("lock", 1, 60) is True
    assert cache.add("lock", 2, 60) is False
    assert cache.get("lock") == 1
    cache.set("old", "stale", -1)  # already expired
    assert cache.get("old") is None
    assert cache.add("old", "fresh", 60) is True
    assert cache.get("old") == "fresh"


def test_entries_without_timeout_last():
    cache.set("forever", 42, None)
    assert cache.get("forever") == 42


def test_a_write_is_one_statement(django_assert_num_queries):
    cache.set("warm", 0, 60)
    PostgresCache.PURGE_EVERY, saved = 10**9, PostgresCache.PURGE_EVERY
    try:
        with django_assert_num_queries(1):
            cache.set("counted", [1.0, 2.0], 60)
        with django_assert_num_queries(1):
            cache.add("counted-lock", 1, 60)
    finally:
        PostgresCache.PURGE_EVERY = saved


def test_expired_entries_are_purged_now_and_then():
    cache.set("short", 1, -1)
    PostgresCache.PURGE_EVERY, saved = 1, PostgresCache.PURGE_EVERY
    try:
        cache.set("trigger", 1, 60)
    finally:
        PostgresCache.PURGE_EVERY = saved
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM ff_cache")
        keys = [row[0] for row in cursor.fetchall()]
    assert not any(key.endswith(":short") for key in keys)
    assert any(key.endswith(":trigger") for key in keys)
