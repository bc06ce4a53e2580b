"""Counting visits without slowing the page: each process keeps what it saw in memory and a
thread of its own writes it every ANALYTICS_FLUSH_SECONDS (flush()), as one statement per table.

A request only hashes and adds to a dict. A visitor is blake2b(salt, address, browser): the salt
is random, made for the day and shared by every process through DailySalt, which, like the day's
hashes in SeenVisitor, is deleted once the day is over, so nobody can be followed from one day to
the next and no hash can be tied back to an address afterwards.

Uniqueness is decided by PostgreSQL, not by the buffer: flush() inserts the day's hashes with
ON CONFLICT DO NOTHING and adds to the rollups only the rows that were new, all in one
transaction, so any number of processes (or threads) flushing at once count each visitor once.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import secrets
import threading
from collections import Counter, defaultdict
from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import DailySalt, SeenVisitor
from newsletter.models import NewsletterSend
from posts.models import Post

logger = logging.getLogger(__name__)

# Past this many visitors waiting, the flusher is woken early; past the hard cap, new ones are
# dropped (a flood of made-up browsers must not grow a process without bound).
WAKE_AT = 20_000
HARD_CAP = 200_000

_lock = threading.Lock()
# (kind, id, day) -> {visitor hash: extra}: kind "p" by post slug (extra: referring host),
# "l" by (send id, link number) (extra: landing path), "o" by send id.
_pending: dict[tuple, dict[str, str]] = defaultdict(dict)
_size = 0
_salts: dict[date, bytes] = {}
_flusher: threading.Thread | None = None
_wake = threading.Event()


def today() -> date:
    """Return today's date in UTC, the day every rollup is kept by."""
    return timezone.now().date()


def _salt(day: date) -> bytes:
    salt = _salts.get(day)
    if salt is None:
        # Once per process and day: make the day's salt or read the one another process made.
        DailySalt.objects.bulk_create(
            [DailySalt(day=day, salt=secrets.token_bytes(32))], ignore_conflicts=True
        )
        salt = bytes(DailySalt.objects.get(day=day).salt)
        _salts.clear()
        _salts[day] = salt
    return salt


def visitor_hash(*, address: str, browser: str, day: date) -> str:
    """Return the visitor's hash for day: the same all day, unrelated to any other day's."""
    digest = hashlib.blake2b(digest_size=16, key=_salt(day))
    digest.update(address.encode())
    digest.update(b"\0")
    digest.update(browser.encode(errors="replace"))
    return digest.hexdigest()


def _add(key: tuple, visitor: str, extra: str) -> None:
    global _size
    with _lock:
        seen = _pending[key]
        if visitor in seen or _size >= HARD_CAP:
            return
        seen[visitor] = extra
        _size += 1
        wake = _size >= WAKE_AT
    if wake:
        _wake.set()
    _start_flusher()


def record_post_visit(*, slug: str, visitor: str, day: date, referrer_host: str = "") -> None:
    """Remember one visit of a post page (by slug: the id is looked up when flushing)."""
    _add(("p", slug, day), visitor, referrer_host)


def record_link_arrival(*, send_id: int, link: int, path: str, visitor: str, day: date) -> None:
    """Remember one arrival through link number `link` of a send's email."""
    _add(("l", (send_id, link), day), visitor, path[:500])


def record_open(*, send_id: int, visitor: str, day: date) -> None:
    """Remember one load of a send's open pixel."""
    _add(("o", send_id, day), visitor, "")


def _take() -> dict[tuple, dict[str, str]]:
    global _pending, _size
    with _lock:
        taken, _pending, _size = _pending, defaultdict(dict), 0
    return taken


def flush() -> int:
    """Write what this process counted since the last flush; return how many visitors were new.

    One transaction: the hashes go into SeenVisitor (rows already there are skipped) and only
    the new ones are added to the rollups, one upsert statement per rollup table.
    """
    taken = _take()
    if not taken:
        return 0
    try:
        return _write(taken)
    except Exception:
        logger.exception("analytics: could not write %d counts; they are lost", len(taken))
        return 0


def _write(taken: dict[tuple, dict[str, str]]) -> int:
    slugs = {key[1] for key in taken if key[0] == "p"}
    post_ids = dict(Post.objects.filter(slug__in=slugs).values_list("slug", "pk")) if slugs else {}
    # Marks are signed, but a send may have been deleted since its email went out.
    sends = {key[1][0] if key[0] == "l" else key[1] for key in taken if key[0] != "p"}
    send_ids = set(NewsletterSend.objects.filter(pk__in=sends).values_list("pk", flat=True))
    rows: dict[tuple[date, str, str], tuple] = {}
    for (kind, ident, day), visitors in taken.items():
        if kind == "p":
            if ident not in post_ids:
                continue
            key = f"p:{post_ids[ident]}"
        elif kind == "l":
            if ident[0] not in send_ids:
                continue
            key = f"l:{ident[0]}:{ident[1]}"
        else:
            if ident not in send_ids:
                continue
            key = f"o:{ident}"
        for visitor, extra in visitors.items():
            rows[(day, key, visitor)] = (kind, ident, extra)
    if not rows:
        return 0
    ordered = sorted(rows)  # one order for every writer: concurrent flushes never deadlock
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SeenVisitor._meta.db_table} (day, key, visitor) "  # noqa: S608  # nosec
            "SELECT * FROM unnest(%s::date[], %s::text[], %s::text[]) "
            "ON CONFLICT DO NOTHING RETURNING day, key, visitor",
            [[r[0] for r in ordered], [r[1] for r in ordered], [r[2] for r in ordered]],
        )
        new = cursor.fetchall()
        posts: Counter = Counter()
        referrers: Counter = Counter()
        links: Counter = Counter()
        paths: dict[tuple, str] = {}
        opens: Counter = Counter()
        for day, key, visitor in new:
            kind, ident, extra = rows[(day, key, visitor)]
            if kind == "p":
                posts[(post_ids[ident], day)] += 1
                if extra:
                    referrers[(post_ids[ident], day, extra)] += 1
            elif kind == "l":
                links[(ident[0], ident[1], day)] += 1
                paths.setdefault((ident[0], ident[1], day), extra)
            else:
                opens[(ident, day)] += 1
        _upsert(cursor, "analytics_postday", ["post_id", "day"], ["int", "date"], posts, "visitors")
        _upsert(
            cursor,
            "analytics_referrerday",
            ["post_id", "day", "host"],
            ["int", "date", "text"],
            referrers,
            "visitors",
        )
        _upsert(
            cursor,
            "analytics_linkarrivalday",
            ["send_id", "link", "day"],
            ["int", "int", "date"],
            links,
            "visitors",
            extra=("path", "text", paths),
        )
        _upsert(cursor, "analytics_openday", ["send_id", "day"], ["int", "date"], opens, "opens")
        # Yesterday's salt and hashes are of no use any more: forget them.
        cursor.execute("DELETE FROM analytics_seenvisitor WHERE day < %s", [today()])
        cursor.execute("DELETE FROM analytics_dailysalt WHERE day < %s", [today()])
    return len(new)


def _upsert(cursor, table, columns, types, counts: Counter, total: str, extra=None) -> None:
    """Add counts ({(column values...): n}) to table in one statement, in key order."""
    if not counts:
        return
    keys = sorted(counts)
    names = [*columns, total]
    arrays = [[key[i] for key in keys] for i in range(len(columns))] + [[counts[k] for k in keys]]
    casts = [f"%s::{t}[]" for t in types] + ["%s::int[]"]
    if extra is not None:
        name, type_, values = extra
        names.append(name)
        arrays.append([values[k] for k in keys])
        casts.append(f"%s::{type_}[]")
    # Table and column names are ours; every value is a parameter.
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(names)}) SELECT * FROM unnest({', '.join(casts)}) "  # noqa: S608  # nosec
        f"ON CONFLICT ({', '.join(columns)}) "
        f"DO UPDATE SET {total} = {table}.{total} + EXCLUDED.{total}",
        arrays,
    )


def _start_flusher() -> None:
    """Start this process's flushing thread on its first count (after a server's fork)."""
    global _flusher
    seconds = settings.ANALYTICS_FLUSH_SECONDS
    if seconds <= 0 or (_flusher is not None and _flusher.is_alive()):
        return
    with _lock:
        if _flusher is not None and _flusher.is_alive():
            return
        _flusher = threading.Thread(
            target=_flush_forever, args=(seconds,), name="analytics-flush", daemon=True
        )
        _flusher.start()
    atexit.register(_flush_at_exit)


def _flush_forever(seconds: float) -> None:
    while True:
        _wake.wait(seconds)
        _wake.clear()
        flush()
        connection.close_if_unusable_or_obsolete()


def _flush_at_exit() -> None:
    flush()
