"""Post pages for logged-in readers, from the page cache without sharing anything personal.

A logged-in reader's post page differs from another's in a few places only: the header (their
name), the polls (their vote), the thumbs up (theirs) and the comments they wrote or liked.
Those places are marked in the templates with ``{% personal %}``.

- The page is rendered once per version (posts/pagecache.py) for each kind of reader (verified
  or not, subscriber or not, reply emails on or off), for a stand-in of that kind who is nobody:
  no name, no votes, no likes, no comments. No real reader's data can be in that copy.
- Each request reads, in one query, the reader's kind, the page's version numbers, and the
  reader's thumbs up, votes and likes on the post; then fills each marked place for them.
  A marked place is rendered once per version and per state (the poll as seen by a reader who
  chose B), and kept, so most requests render no template at all. The reader's own comments
  are rendered for them every time (they carry an edit window that closes by the minute).

Staff, banned readers and readers with a comment awaiting review (which only they see in the
thread) get their page rendered in full, as does anyone with a flash message waiting.
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
from django.template import Context
from django.template.loader import render_to_string
from django.utils.html import escape

from posts import pagecache
from posts.models import Post

# Stands for the reader's name in the shared header: letters only, so escaping keeps it whole.
NAME_MARK = "ffReaderNameMarkQx7"
SLOT_RE = re.compile(rb"<!--ff-slot:([a-z_-]+):([^>]*?)-->(.*?)<!--/ff-slot:\1:\2-->", re.S)


@dataclass(frozen=True)
class Viewer:
    """The kind of reader a stored page was rendered for."""

    verified: bool
    subscriber: bool
    notify_replies: bool

    @property
    def key(self) -> str:
        flags = (self.verified, self.subscriber, self.notify_replies)
        return "".join("1" if flag else "0" for flag in flags)


@dataclass(frozen=True)
class ReaderState:
    """What one query tells about a reader and a post page."""

    viewer: Viewer | None  # None: render their page in full
    numbers: tuple  # the page's version numbers (pagecache.versions)
    gave_thumbs_up: bool
    votes: dict  # poll id -> chosen choice id
    likes: frozenset  # ids of the post's comments they liked


@dataclass(frozen=True)
class ReaderEntry:
    # Stored page pieces: bytes as they are, or (name, args, default bytes) for a marked place.
    parts: tuple
    content_type: str
    comment_authors: dict  # comment id -> author id, for every comment on the page
    expires_at: float  # when the page (and what is kept beside it) stops being served


def reader_state(request, *, post_slug: str) -> ReaderState:
    """Everything a logged-in reader's page needs to know about them, in one query."""
    with connection.cursor() as cursor:
        # PL/pgSQL (migration posts 0004), so PostgreSQL plans it once per connection.
        cursor.execute("SELECT * FROM posts_reader_state(%s, %s)", [post_slug, request.user.pk])
        row = cursor.fetchone()
    verified, subscriber, banned, notify, waiting, site, post, newest, thumbs, votes, likes = row
    # The answer User.has_verified_email would query for; templates ask it again and again.
    request.user.has_verified_email = verified
    user = request.user
    viewer = None
    if not (banned or waiting or user.is_staff or not user.is_active):
        viewer = Viewer(verified=verified, subscriber=subscriber, notify_replies=notify)
    return ReaderState(
        viewer=viewer,
        numbers=(site or 0, post or 0, newest.timestamp() if newest else 0.0),
        gave_thumbs_up=thumbs,
        votes=dict(tuple(int(n) for n in vote.split(":")) for vote in votes),
        likes=frozenset(likes),
    )


# --- Rendering for a kind of reader -------------------------------------------------------------


def stand_in_for(viewer: Viewer, *, name: str = ""):
    """A reader of viewer's kind who is nobody: no name, no votes, no likes, no comments."""
    from accounts.models import User
    from comments.models import Commenter

    stand_in = User(pk=0, email="", display_name=name, is_active=True, is_staff=False)
    stand_in._state.adding = False
    stand_in.has_verified_email = viewer.verified
    # Read by PostQuerySet.for_page and Commenter.for_user instead of the database.
    stand_in.stand_in_subscriber = viewer.subscriber
    stand_in.stand_in_commenter = Commenter(notify_replies=viewer.notify_replies)
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
        request.__dict__.pop("_polls_panels", None)  # the stand-in's poll panels


def entry_from(request, response: HttpResponse, *, seconds: int) -> ReaderEntry:
    """Cut the stand-in's page into stored pieces around its marked places."""
    content = pagecache.strip_csrf(response.content, request)
    parts, authors, position = [], {}, 0
    for match in SLOT_RE.finditer(content):
        parts.append(content[position : match.start()])
        name, args = match.group(1).decode(), match.group(2).decode()
        parts.append((name, args, match.group(3)))
        if name == "comment":
            pk, author = args.split(":")
            authors[int(pk)] = int(author) if author.isdigit() else None
        position = match.end()
    parts.append(content[position:])
    return ReaderEntry(
        parts=tuple(parts),
        content_type=response["Content-Type"],
        comment_authors=authors,
        expires_at=time.time() + seconds,
    )


def store(key: str, entry: ReaderEntry) -> None:
    seconds = int(entry.expires_at - time.time())
    if seconds > 0:
        pagecache.keep(key, entry, seconds)


# --- Filling the marked places for one reader ---------------------------------------------------


class Filler:
    """Renders the marked places of one stored page for one reader, keeping what it can."""

    def __init__(self, request, *, key: str, entry: ReaderEntry, state: ReaderState, slug: str):
        self.request = request
        self.key = key
        self.entry = entry
        self.state = state
        self.slug = slug
        self.cache = caches[pagecache.CACHE_ALIAS]
        # Kept parts never outlive their page (a poll closing ends both).
        self.seconds = int(entry.expires_at - time.time())
        self._post = None
        me = request.user.pk  # read once: request.user is a lazy proxy
        self.own = {pk for pk, author in entry.comment_authors.items() if author == me}
        self.liked = {pk for pk in state.likes if pk in entry.comment_authors}
        self._articles = None

    @property
    def post(self) -> Post:
        if self._post is None:
            user = self.request.user
            self._post = Post.objects.visible_to(user).with_thumbs_up(user).get(slug=self.slug)
        return self._post

    def kept(self, name: str, make) -> bytes:
        """make() once per page version and state, kept beside the page; CSRF-free."""
        return self.kept_for(f"{self.key}:{name}", make, seconds=self.seconds)

    def kept_for(self, key: str, make, *, seconds: int) -> bytes:
        html = self.cache.get(key)
        if html is None:
            html = pagecache.strip_csrf(make().encode(), self.request)
            if seconds > 0:
                self.cache.set(key, html, seconds)
        return html

    def header(self, args, default) -> bytes:
        """The header shows the reader's name and nothing else of theirs: rendered once for a
        stand-in called NAME_MARK, which each reader's escaped name then replaces. If the
        header ever shows the name otherwise (a filter on it), it is rendered per name."""
        user = self.request.user
        html = self.cache.get("header:shared")
        if html is None:
            real = self.request.user
            self.request.user = stand_in_for(self.state.viewer, name=NAME_MARK)
            try:
                made = render_to_string("includes/_header.html", request=self.request)
            finally:
                self.request.user = real
            html = pagecache.strip_csrf(made.encode(), self.request)
            self.cache.set("header:shared", html, pagecache.lifetime())
        if html.count(NAME_MARK.encode()) == 1:
            return html.replace(NAME_MARK.encode(), escape(user.public_name).encode())
        name = hashlib.blake2b(user.public_name.encode(), digest_size=8).hexdigest()
        return self.kept_for(
            f"header:{name}",
            lambda: render_to_string("includes/_header.html", request=self.request),
            seconds=pagecache.lifetime(),
        )

    def poll(self, placement, default) -> bytes:
        from polls.templatetags.polls_tags import post_poll

        votes = ",".join(f"{poll}={choice}" for poll, choice in sorted(self.state.votes.items()))
        return self.kept(
            f"poll:{placement}:{votes}",
            lambda: str(post_poll(Context({"request": self.request}), self.post, placement)),
        )

    def thumbs(self, args, default) -> bytes:
        return self.kept(
            f"thumbs:{self.state.gave_thumbs_up:d}",
            lambda: render_to_string(
                "posts/partials/_thumbs_up.html", {"post": self.post}, request=self.request
            ),
        )

    def comment(self, args, default) -> bytes:
        pk = int(args.split(":")[0])
        if pk in self.own:
            # Edit and delete buttons, and an edit window closing by the minute: never kept.
            html = self.articles().get(pk)
            return pagecache.strip_csrf(html.encode(), self.request) if html else default
        if pk in self.liked:
            return self.kept(f"liked:{pk}", lambda: self.articles().get(pk, default.decode()))
        return default

    def articles(self) -> dict[int, str]:
        """The reader's own and liked comments on this page, rendered for them."""
        if self._articles is None:
            from comments import selectors
            from comments.forms import CommentForm
            from comments.models import Comment, Commenter
            from comments.services import participation

            user, viewer = self.request.user, self.state.viewer
            part = participation(
                post=self.post,
                user=user,
                commenter=Commenter(user=user, notify_replies=viewer.notify_replies),
            )
            form = CommentForm(post=self.post, initial={"notify_replies": part.notify_replies})
            comments = list(
                Comment.objects.filter(pk__in=self.own | self.liked).select_related("author")
            )
            selectors.decorate(comments, user=user, liked=set(self.liked), post=self.post)
            self._articles = {
                comment.pk: render_to_string(
                    "comments/partials/_article.html",
                    {"comment": comment, "post": self.post, "part": part, "form": form},
                    request=self.request,
                )
                for comment in comments
            }
        return self._articles

    def response(self) -> HttpResponse:
        fill = {"header": self.header, "poll": self.poll, "thumbs": self.thumbs}
        fill["comment"] = self.comment
        pieces = []
        for piece in self.entry.parts:
            if isinstance(piece, bytes):
                pieces.append(piece)
            else:
                name, args, default = piece
                pieces.append(fill[name](args, default) if name in fill else default)
        content = b"".join(pieces)
        if pagecache.CSRF_PLACEHOLDER in content:
            token = get_token(self.request).encode()
            content = content.replace(pagecache.CSRF_PLACEHOLDER, token)
        return HttpResponse(content, content_type=self.entry.content_type)
