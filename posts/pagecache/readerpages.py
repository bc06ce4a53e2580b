"""Post pages for logged-in readers, from the page cache without sharing anything personal.

A logged-in reader's post page differs from another's in a few places only: the header (their
name), the polls (their vote), the thumbs up (theirs) and the comments they wrote or liked.
Those places are marked in the templates with ``{% personal %}`` and filled by the fillers the
apps register (slots.py).

- The page is rendered once per version (versions.py) for each kind of reader (verified or
  not, subscriber or not), for a stand-in of that kind who is nobody: no name, no votes, no
  likes, no comments, no settings. No real reader's data can be in that copy.
- Each request reads, in one query, the reader's kind, the page's version numbers, and the
  reader's thumbs up (and, from the apps' registered parts, their votes and likes) on the post;
  then fills each marked place for them.
  A marked place is rendered once per version and per state (the poll as seen by a reader who
  chose B), and kept, so most requests render no template at all. The reader's own comments
  are rendered for them every time (they carry an edit window that closes by the minute).

Staff, and readers an app says must be (banned, or with a comment awaiting review that only
they see in the thread), get their page rendered in full, as does anyone with a flash message
waiting.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import escape

from posts.pagecache import slots, store
from posts.pagecache.slots import ReaderFacts
from publication.models import Publication

# Stands for the reader's name in the shared header: letters only, so escaping keeps it whole.
NAME_MARK = "ffReaderNameMarkQx7"
SLOT_RE = re.compile(rb"<!--ff-slot:([a-z_-]+):([^>]*?)-->(.*?)<!--/ff-slot:\1:\2-->", re.S)


@dataclass(frozen=True)
class Viewer:
    """The kind of reader a stored page was rendered for."""

    verified: bool
    subscriber: bool

    @property
    def key(self) -> str:
        return "".join("1" if flag else "0" for flag in (self.verified, self.subscriber))


@dataclass(frozen=True)
class ReaderState:
    """What one query tells about a reader and a post page."""

    viewer: Viewer | None  # None: render their page in full
    numbers: tuple  # the page's version numbers (versions.versions)
    gave_thumbs_up: bool
    facts: dict  # app -> ReaderFacts, from the registered reader parts


@dataclass(frozen=True)
class ReaderEntry:
    # Stored page pieces: bytes as they are, or (name, args, default bytes) for a marked place.
    parts: tuple
    content_type: str
    expires_at: float  # when the page (and what is kept beside it) stops being served


BASE_COLUMNS = 7  # posts_reader_state's columns (migration posts 0005)


def _reader_state_sql(parts) -> str:
    sql = "SELECT * FROM posts_reader_state(%s, %s) AS page"
    for part in parts:
        # Names checked by slots.register_reader_state.
        sql += f" CROSS JOIN LATERAL {part.function}(page.page_post_id, %s) AS {part.name}"
    return sql


def reader_state(request, *, post_slug: str) -> ReaderState:
    """Everything a logged-in reader's page needs to know about them, in one query."""
    parts = slots.reader_parts()
    reader = request.user.pk
    with connection.cursor() as cursor:
        # PL/pgSQL functions (migration posts 0005 and the apps' own), so PostgreSQL keeps
        # their plans for the session; the query joining them is trivial to plan.
        cursor.execute(_reader_state_sql(parts), [post_slug, reader] + [reader] * len(parts))
        row = cursor.fetchone()
    _post_id, verified, subscriber, site, post, newest, thumbs = row[:BASE_COLUMNS]
    # The answer User.has_verified_email would query for; templates ask it again and again.
    request.user.has_verified_email = verified
    facts, position = {}, BASE_COLUMNS
    for part in parts:
        facts[part.name] = part.read(tuple(row[position : position + part.columns]))
        position += part.columns
    user = request.user
    viewer = None
    in_full = any(fact.render_in_full for fact in facts.values())
    if not (in_full or user.is_staff or not user.is_active):
        viewer = Viewer(verified=verified, subscriber=subscriber)
    return ReaderState(
        viewer=viewer,
        numbers=(site or 0, post or 0, newest.timestamp() if newest else 0.0),
        gave_thumbs_up=thumbs,
        facts=facts,
    )


# --- Rendering for a kind of reader -------------------------------------------------------------


def stand_in_for(viewer: Viewer, *, name: str = ""):
    """A reader of viewer's kind who is nobody: no name, no votes, no likes, no comments.

    What the page asks about them is answered in advance, on the instance, the way Django
    keeps a loaded relation (their subscription), so no model code needs to know about
    stand-ins; the apps' own state of the reader is in their slots."""
    from accounts.models import Subscription, User

    stand_in = User(pk=0, email="", display_name=name, is_active=True, is_staff=False)
    stand_in._state.adding = False
    stand_in.has_verified_email = viewer.verified
    subscription = Subscription(status=Subscription.Status.ACTIVE) if viewer.subscriber else None
    User.subscription.related.set_cached_value(stand_in, subscription)
    return stand_in


def render_for_kind(request, viewer: Viewer, render) -> HttpResponse:
    """Call render() with request as viewer's stand-in would make it, personal places marked."""
    real = request.user
    request.user = stand_in_for(viewer)
    request._page_stand_in = True
    try:
        return render()
    finally:
        request.user = real
        request._page_stand_in = False


def entry_from(request, response: HttpResponse, *, seconds: int) -> ReaderEntry:
    """Cut the stand-in's page into stored pieces around its marked places."""
    content = store.strip_csrf(response.content, request)
    parts, position = [], 0
    for match in SLOT_RE.finditer(content):
        parts.append(content[position : match.start()])
        parts.append((match.group(1).decode(), match.group(2).decode(), match.group(3)))
        position = match.end()
    parts.append(content[position:])
    return ReaderEntry(
        parts=tuple(parts),
        content_type=response["Content-Type"],
        expires_at=time.time() + seconds,
    )


def keep(key: str, entry: ReaderEntry) -> None:
    seconds = int(entry.expires_at - time.time())
    if seconds > 0:
        store.keep(key, entry, seconds)


# --- Filling the marked places for one reader ---------------------------------------------------


class Filler:
    """Renders the marked places of one stored page for one reader, keeping what it can.

    The slot fillers the apps register get it as `page`."""

    def __init__(self, request, *, key: str, entry: ReaderEntry, state: ReaderState, slug: str):
        self.request = request
        self.key = key
        self.entry = entry
        self.state = state
        self.slug = slug
        self.cache = caches[store.CACHE_ALIAS]
        # Kept parts never outlive their page (a poll closing ends both).
        self.seconds = int(entry.expires_at - time.time())
        self.memo: dict = {}  # per request, for the fillers
        self._post = None

    @property
    def post(self):
        """The post, as the reader may see it, with its thumbs up (one query, when asked)."""
        if self._post is None:
            from posts.models import Post

            user = self.request.user
            self._post = Post.objects.visible_to(user).with_thumbs_up(user).get(slug=self.slug)
        return self._post

    def facts(self, app: str) -> ReaderFacts:
        """What app's registered part of the reader-state query said about this reader."""
        return self.state.facts.get(app) or ReaderFacts()

    def args_of(self, name: str) -> list[str]:
        """The arguments of every place called name on the stored page, in page order."""
        places = (piece for piece in self.entry.parts if not isinstance(piece, bytes))
        return [args for place, args, _default in places if place == name]

    def kept(self, name: str, make) -> bytes:
        """make() once per page version and state, kept beside the page; CSRF-free."""
        return self.kept_for(f"{self.key}:{name}", make, seconds=self.seconds)

    def kept_for(self, key: str, make, *, seconds: int) -> bytes:
        html = self.cache.get(key)
        if html is None:
            html = self.made(make())
            if seconds > 0:
                self.cache.set(key, html, seconds)
        return html

    def made(self, html: str) -> bytes:
        """html rendered for this reader, as a piece of the page (CSRF tokens put back last)."""
        return store.strip_csrf(html.encode(), self.request)

    def header(self, args, default) -> bytes:
        """The header shows the reader's name and nothing else of theirs: rendered once for a
        stand-in called NAME_MARK, which each reader's escaped name then replaces. If the
        header ever shows the name otherwise (a filter on it), it is rendered per name."""
        user = self.request.user
        # The header shows the publication's name, logo and navigation too.
        stamp = Publication.objects.current().stamp
        html = self.cache.get(f"header:shared:{stamp}")
        if html is None:
            real = self.request.user
            self.request.user = stand_in_for(self.state.viewer, name=NAME_MARK)
            try:
                made = render_to_string("includes/_header.html", request=self.request)
            finally:
                self.request.user = real
            html = self.made(made)
            self.cache.set(f"header:shared:{stamp}", html, store.lifetime())
        if html.count(NAME_MARK.encode()) == 1:
            return html.replace(NAME_MARK.encode(), escape(user.public_name).encode())
        name = hashlib.blake2b(user.public_name.encode(), digest_size=8).hexdigest()
        return self.kept_for(
            f"header:{name}:{stamp}",
            lambda: render_to_string("includes/_header.html", request=self.request),
            seconds=store.lifetime(),
        )

    def thumbs(self, args, default) -> bytes:
        return self.kept(
            f"thumbs:{self.state.gave_thumbs_up:d}",
            lambda: render_to_string(
                "posts/partials/_thumbs_up.html", {"post": self.post}, request=self.request
            ),
        )

    def response(self) -> HttpResponse:
        own = {"header": self.header, "thumbs": self.thumbs}
        pieces = []
        for piece in self.entry.parts:
            if isinstance(piece, bytes):
                pieces.append(piece)
                continue
            name, args, default = piece
            if name in own:
                pieces.append(own[name](args, default))
                continue
            fill = slots.filler(name)
            pieces.append(fill(self, args, default) if fill is not None else default)
        content = b"".join(pieces)
        if store.CSRF_PLACEHOLDER in content:
            token = get_token(self.request).encode()
            content = content.replace(store.CSRF_PLACEHOLDER, token)
        return HttpResponse(content, content_type=self.entry.content_type)
