"""The page readers get while the database is unreachable: a styled 503 with Retry-After.

Django answers any exception a request raises with its 500 handler; this one looks at the
exception first. A connection failure (PostgreSQL stopped, restarting, unreachable, or the
backend's circuit breaker refusing to try again yet, see futureforward/db/base.py) is not a bug
to fix but a wait, so the reader is told to come back in a few seconds and a proxy or crawler
knows when. Other database errors (a deadlock, a constraint) stay 500s.

The page renders without the database: a template of its own, no request context (no session,
no user), like Django's own 500 page.
"""

from __future__ import annotations

import math
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults

from futureforward.db.base import DEFAULT_PAUSE_SECONDS
from publication.models import Publication

# SQLSTATEs PostgreSQL sends when it is shutting down or not yet accepting connections; class
# 08 is "connection exception". A failure with no SQLSTATE never reached the server.
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03"}


def is_outage(error: BaseException | None) -> bool:
    """Return True if error says the database cannot be reached (as opposed to a failed query)."""
    if isinstance(error, InterfaceError):
        return True  # the connection is gone
    if not isinstance(error, OperationalError):
        return False
    state = getattr(error.__cause__, "sqlstate", None)
    return state is None or state.startswith("08") or state in _UNAVAILABLE_STATES


def retry_after() -> int:
    """Seconds a reader should wait: the backend's pause before it tries the database again."""
    pause = settings.DATABASES["default"].get("CONNECT_PAUSE_SECONDS", DEFAULT_PAUSE_SECONDS)
    return max(1, math.ceil(float(pause)))


def database_unavailable() -> HttpResponse:
    seconds = retry_after()
    response = HttpResponse(
        loader.render_to_string(
            "503.html",
            # The publication's name as this process last read it: no query while it is away.
            {"retry_after": seconds, "site_name": Publication.objects.kept_name()},
        ),
        status=503,
    )
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the 503 page for a database outage, Django's 500 page for anything else.

    Django calls it while handling the exception, so the exception is sys.exc_info()'s."""
    if is_outage(sys.exc_info()[1]):
        return database_unavailable()
    return defaults.server_error(request)
