"""Pages as anonymous readers get them, stored in each process's memory (the "pages" cache)
under the version numbers of what they show; and the time a page may be kept."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone

from publication.models import Publication

CACHE_ALIAS = "pages"
# A masked CSRF token as Django renders it: 64 letters and digits.
CSRF_TOKEN_RE = re.compile(rb"[A-Za-z0-9]{64}")
CSRF_PLACEHOLDER = b"\x00csrf\x00"
# Query parameters that never change what a page shows (campaign tags on newsletter links).
NEUTRAL_PARAM_PREFIXES = ("utm_",)


# --- Time -------------------------------------------------------------------------------------


def changes_at(request, when: datetime | None) -> None:
    """Note that the page being rendered for request shows something different from `when` on
    (a poll opening or closing), so a cached copy must not outlive that moment."""
    if request is None or when is None or when <= timezone.now():
        return
    current = getattr(request, "_page_changes_at", None)
    if current is None or when < current:
        request._page_changes_at = when


# --- Entries ----------------------------------------------------------------------------------


def lifetime() -> int:
    """Seconds a stored page may be served at most; 0 turns the cache off."""
    return int(getattr(settings, "POSTS_PAGE_CACHE_SECONDS", 60))


def content_digest(content: bytes) -> str:
    """Hash of a page without its per-render CSRF masks (the base of its ETag)."""
    return hashlib.blake2b(CSRF_TOKEN_RE.sub(b"", content), digest_size=16).hexdigest()


def etag(digest: str, request) -> str:
    """The page's ETag for this browser: its content, and the browser's CSRF secret, so a
    copy kept by the browser always carries a token that still works."""
    tag = hashlib.blake2b(digest.encode(), digest_size=16)
    tag.update(request.META.get("CSRF_COOKIE", "").encode())
    return f'"{tag.hexdigest()}"'


@dataclass(frozen=True)
class Entry:
    content: bytes  # with CSRF_PLACEHOLDER where the tokens were
    content_type: str
    digest: str


def storable(request, *, params: tuple[str, ...] = (), logged_in: bool = False) -> bool:
    """Return True if request may be served from the cache (and its page stored).

    Only GET and HEAD from anonymous readers (or, with logged_in, logged-in ones) with nothing
    pending for them (a flash message), with no query parameters other than `params` (which
    the key includes) and campaign tags.
    """
    if lifetime() <= 0 or request.method not in {"GET", "HEAD"}:
        return False
    if any(
        name not in params and not name.startswith(NEUTRAL_PARAM_PREFIXES) for name in request.GET
    ):
        return False
    if request.COOKIES.get(CookieStorage.cookie_name):
        return False
    if request.user.is_authenticated != logged_in:
        return False
    session = getattr(request, "session", None)
    return not (session is not None and session.session_key and "_messages" in session)


def cache_key(request, *, name: str, numbers: tuple) -> str:
    """The key of this page at these version numbers: "<page>|<numbers>:<publication>".

    Every page shows the publication's settings (its name, logo, colours, navigation), which
    each process keeps in memory; their stamp in the key means a process still holding the old
    settings never stores its page where one holding the new settings would look."""
    path = hashlib.blake2b(request.get_full_path().encode(), digest_size=16).hexdigest()
    htmx = "h" if request.headers.get("HX-Request") else "p"
    stamp = Publication.objects.current().stamp
    return f"page:{name}:{path}:{htmx}|" + ":".join(str(n) for n in (*numbers, stamp))


# The key each page was last stored under in this process, so storing a newer version drops
# the older one at once instead of leaving it in memory until it expires: a poll taking votes
# makes a new version every few milliseconds. Bounded, oldest pages forgotten first.
_latest: OrderedDict[str, str] = OrderedDict()
LATEST_PAGES = 10_000


def keep(key: str, value, seconds: int) -> None:
    """Store value under key for seconds, replacing the page's previous version."""
    cache = caches[CACHE_ALIAS]
    page = key.split("|", 1)[0]
    previous = _latest.pop(page, None)
    if previous is not None and previous != key:
        cache.delete(previous)
    _latest[page] = key
    while len(_latest) > LATEST_PAGES:
        _latest.popitem(last=False)
    cache.set(key, value, seconds)


def get(key: str) -> Entry | None:
    return caches[CACHE_ALIAS].get(key)


def strip_csrf(content: bytes, request) -> bytes:
    """Return content with every CSRF token rendered for this request made a placeholder."""
    from django.middleware.csrf import _unmask_cipher_token

    secret = request.META.get("CSRF_COOKIE", "")

    def swap(match):
        token = match.group(0)
        if secret and _unmask_cipher_token(token.decode()) == secret:
            return CSRF_PLACEHOLDER
        return token

    return CSRF_TOKEN_RE.sub(swap, content)


def seconds_to_keep(request) -> int:
    """How long the page rendered for request may be served: the lifetime, or less when
    something on it changes by itself sooner (a poll closing)."""
    seconds = lifetime()
    changes = getattr(request, "_page_changes_at", None)
    if changes is not None:
        seconds = min(seconds, int((changes - timezone.now()).total_seconds()))
    return seconds


def store(key: str, request, response: HttpResponse, digest: str) -> None:
    """Keep response for the next anonymous readers of the same URL."""
    seconds = seconds_to_keep(request)
    if seconds <= 0:
        return
    entry = Entry(
        content=strip_csrf(response.content, request),
        content_type=response["Content-Type"],
        digest=digest,
    )
    keep(key, entry, seconds)


def respond(request, entry: Entry) -> HttpResponse:
    """Rebuild the page from entry, with a fresh CSRF token for this reader."""
    content = entry.content
    if CSRF_PLACEHOLDER in content:
        content = content.replace(CSRF_PLACEHOLDER, get_token(request).encode())
    return HttpResponse(content, content_type=entry.content_type)
