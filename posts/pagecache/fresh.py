"""A reader who has just acted reads the version numbers from the database.

The numbers PostgreSQL pushes to each process (listener.py) arrive a few milliseconds after a
commit. A reader who has just voted, commented or given a thumbs up must see it on their very
next page, even when that request lands on another process whose listener has not heard yet.
So every unsafe request (POST and the like) answered by this site sets a short-lived cookie,
and a request carrying it has its page's numbers read from the database (one query, as before
the listener). The cookie holds nothing but "1": no identifier, nothing personal, gone after
``FRESH_SECONDS``; it is strictly functional, so it needs no consent.
"""

from __future__ import annotations

from django.conf import settings

FRESH_SECONDS = 10
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def cookie_name() -> str:
    """``__Host-ff_fresh`` where the session cookie has the __Host- prefix (HTTPS), else
    ``ff_fresh``."""
    return getattr(settings, "POSTS_FRESH_COOKIE_NAME", "ff_fresh")


def has_just_acted(request) -> bool:
    return cookie_name() in request.COOKIES


class FreshReadsMiddleware:
    """Mark the browser of every unsafe request for ``FRESH_SECONDS`` (see the module)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in SAFE_METHODS:
            response.set_cookie(
                cookie_name(),
                "1",
                max_age=FRESH_SECONDS,
                path="/",
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
