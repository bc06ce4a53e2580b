"""Health endpoints for load balancers, orchestrators and uptime checks.

- ``/healthz``: the process is up and answering. No database, so a database outage does not get
  every web process killed and restarted by its supervisor. A worker answers it, so it waits
  while every worker is busy; liveness probes belong on HEALTH_PORT, where the gunicorn master
  answers the same path itself (futureforward/liveness.py).
- ``/readyz``: this process can serve readers: the database answers, every migration is applied,
  and the shared cache (Redis or the cache table) answers. 503 otherwise, so a load balancer
  sends traffic elsewhere while a deploy's migrations run or the database restarts.

Both are answered by a middleware at the top of the stack, before host validation and the HTTPS
redirect: probes often call a bare IP over plain HTTP, and neither is a reason to report a healthy
process as down.
"""

from __future__ import annotations

import logging
import threading
from http import HTTPStatus

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

HEALTHZ_PATH = "/healthz"
READYZ_PATH = "/readyz"

# Once every migration is applied it stays applied for the life of this process (new code with
# new migrations comes with new processes), so readiness stops asking after the first success.
_migrations_checked = threading.Event()


def unapplied_migrations(connection) -> list[str]:
    """Return "app.migration" for every migration the database still lacks, in apply order."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def forget_migration_check() -> None:
    """Make the next /readyz look at the migrations again (tests; after a manual rollback)."""
    _migrations_checked.clear()


def _answer(payload: dict, status: int) -> JsonResponse:
    response = JsonResponse(payload, status=status)
    # A cached "ok" from a proxy would hide an outage.
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process runs; touches nothing else."""
    return _answer({"status": "ok"}, HTTPStatus.OK)


def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when database, migrations and cache are ready, else 503 naming what is not."""
    connection = connections[DEFAULT_DB_ALIAS]
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError:
        logger.warning("readyz: the database is unreachable", exc_info=True)
        checks["database"] = "unavailable"

    if checks["database"] != "ok":
        checks["migrations"] = "unknown"
    elif _migrations_checked.is_set():
        checks["migrations"] = "ok"
    else:
        try:
            pending = unapplied_migrations(connection)
        except DatabaseError:
            logger.warning("readyz: could not read the migration history", exc_info=True)
            checks["migrations"] = "unknown"
        else:
            if pending:
                checks["migrations"] = f"{len(pending)} unapplied"
            else:
                checks["migrations"] = "ok"
                _migrations_checked.set()

    try:
        # A read is enough: it fails when Redis is down or the cache table was never created.
        cache.get("futureforward:readyz")
        checks["cache"] = "ok"
    except Exception:
        # Each cache backend raises its own errors (redis, psycopg, ...).
        logger.warning("readyz: the cache is unreachable", exc_info=True)
        checks["cache"] = "unavailable"

    ready = all(value == "ok" for value in checks.values())
    return _answer(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE,
    )


_ROUTES = {HEALTHZ_PATH: healthz, READYZ_PATH: readyz}


class HealthCheckMiddleware:
    """Answer the health paths before anything else in the stack runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        view = _ROUTES.get(request.path_info.rstrip("/") or "/")
        if view is not None and request.method in {"GET", "HEAD"}:
            return view(request)
        return self.get_response(request)
