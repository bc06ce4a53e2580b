"""The personal places ("slots") of a logged-in reader's post page, and who fills them.

A template marks a place that shows the reader's own state with ``{% personal "name" args %}``
(posts/templatetags/pagecache.py). The stored page (readerpages.py) keeps the stand-in's
rendering of each place as its default; for each request the filler registered under that name
renders it for the reader, or keeps the default.

Feature apps plug in from their ``AppConfig.ready()``:

- ``register_slot(name, fill)``: ``fill(page, args, default) -> bytes`` renders the place for
  ``page.request.user`` (``page`` is a readerpages.Filler: the request, the post, the app's
  facts about the reader, and ``page.kept(name, make)`` to keep a rendering per version).
- ``register_reader_state(name, function=..., columns=..., read=...)``: a PL/pgSQL function
  of the app's own migration, ``function(post_id bigint, reader_id bigint)`` returning one
  row of ``columns`` columns, joined into the one query each logged-in request makes (so it
  stays one query, and each function's plan is kept for the session); ``read(values) ->
  ReaderFacts`` turns its row into what the app's fillers need, and whether this reader's
  page must be rendered in full.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.safestring import mark_safe


@dataclass(frozen=True)
class ReaderFacts:
    """What one app's part of the reader-state query says about a reader and a post."""

    render_in_full: bool = False  # their page shows something nobody else's does
    state: Any = None  # for the app's slot fillers


@dataclass(frozen=True)
class ReaderPart:
    name: str
    function: str
    columns: int
    read: Callable[[tuple], ReaderFacts]


_fillers: dict[str, Callable] = {}
_reader_parts: dict[str, ReaderPart] = {}


def register_slot(name: str, fill: Callable) -> None:
    """Fill the places marked ``{% personal name %}`` with fill(page, args, default)."""
    _fillers[name] = fill


def register_reader_state(
    name: str,
    *,
    function: str,
    columns: int,
    read: Callable[[tuple], ReaderFacts],
) -> None:
    """Add an app's part to the one query a logged-in reader's post page makes."""
    # Both names go into the query's SQL (a function and a column alias): identifiers only.
    for identifier in (name, function):
        if not identifier.replace("_", "").isalnum():
            raise ValueError(f"not an SQL identifier: {identifier!r}")
    _reader_parts[name] = ReaderPart(name, function, columns, read)


def filler(name: str) -> Callable | None:
    return _fillers.get(name)


def reader_parts() -> list[ReaderPart]:
    """The registered parts, in a fixed order (the query's columns follow it)."""
    return [_reader_parts[name] for name in sorted(_reader_parts)]


# --- Marking ----------------------------------------------------------------------------------


def rendering_for_kind(request) -> bool:
    """True while request renders the page for a stand-in (places get marked)."""
    return bool(getattr(request, "_page_stand_in", False))


def mark(request, name: str, args: str, content: str) -> str:
    """Return content as the place it is on the page: marked when rendering for a kind."""
    if not rendering_for_kind(request):
        return content
    # Only our own markup goes around content that the templates already made safe.
    return mark_safe(f"<!--ff-slot:{name}:{args}-->{content}<!--/ff-slot:{name}:{args}-->")  # noqa: S308  # nosec
