"""The connection health check (futureforward/db/base.py): a connection PostgreSQL ended is
replaced before a request uses it, and a healthy one is kept without asking PostgreSQL."""

import time

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_connection():
    """A second connection to the test database, as a worker process holds between requests."""
    other = connections.create_connection("default")
    other.settings_dict["CONN_HEALTH_CHECKS"] = True
    other.ensure_connection()
    yield other
    other.close()


def start_request(conn):
    # What Django does when a request starts (signals.request_started): check once more.
    conn.health_check_done = False
    conn.close_if_health_check_failed()


def backend_pid(conn) -> int:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_healthy_connection_is_kept_and_asks_nothing(own_connection):
    pid = backend_pid(own_connection)
    start_request(own_connection)
    assert own_connection.connection is not None
    assert backend_pid(own_connection) == pid
    # No "SELECT 1" went to the server: the backend's last statement is still ours.
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        assert cursor.fetchone()[0] == "SELECT pg_backend_pid()"


def test_a_connection_postgresql_ended_is_replaced_before_the_request_uses_it(own_connection):
    old = backend_pid(own_connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [old])
        assert cursor.fetchone()[0] is True
    deadline = time.monotonic() + 5
    # The server's goodbye reaches the socket a moment later.
    while not own_connection.connection.closed and time.monotonic() < deadline:
        if not own_connection._looks_usable():
            break
        time.sleep(0.01)
    start_request(own_connection)
    # The request's first query works, on a new backend: the reader sees no error page.
    assert backend_pid(own_connection) != old
