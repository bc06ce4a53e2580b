"""The whole publication as a Ghost 5 JSON export: posts, tags, authors, newsletters, and the
subscribers with their tags, newsletters and statuses.

The file has the shape Ghost's own "Export content" writes, table by table and column by
column (`{"db": [{"meta": …, "data": {"posts": […], …}}]}`), so Ghost and the tools built for
its files read it. Ghost itself imports posts, tags, users and newsletters from such a file;
members it imports from a CSV, so the members tables here are for other readers of the file,
our own import first of all.

What Ghost has no column for rides in an extra `"futureforward"` object on the row it belongs
to (a subscriber's exact status, where they came from, a post's takeaway). Ghost keeps only the
columns of its schema when it imports a row and drops the rest, so the extras cost a Ghost
import nothing, and a re-import here loses nothing. How our statuses are said in Ghost's
terms: an active subscriber is a member with their newsletters; anyone else (pending,
unsubscribed, bounced, complained) is a member with no newsletters, `"subscribed": false`,
and bounced or complained addresses also carry `"email_disabled": true`, Ghost's mark of an
address mail must not go to. The exact status in `futureforward.status` is what our import
reads, so nobody who left or bounced is ever made active by a round trip.

The file is written as it is read: every table goes out row by row from one query each,
iterated in chunks through a server-side cursor, so exporting 100,000 subscribers never holds
them in memory and costs the same queries for ten subscribers or a million.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Subscription, User
from newsletter.models import Membership, Newsletter, NewsletterSend, SubscriberTag
from posts.models import Post, Tag
from posts.richtext import MORE_DIVIDER

# The Ghost version whose export format this follows (meta.version; Ghost checks it is semver).
GHOST_VERSION = "5.96.0"
CHUNK = 2000
# Ids are 24 hex digits, as Ghost's ObjectIds: "ff", the kind of row, then the primary key. The
# same row gets the same id in every export, and rows of different tables never share one.
_KINDS = {
    "post": 1,
    "tag": 2,
    "user": 3,
    "role": 4,
    "newsletter": 5,
    "member": 6,
    "label": 7,
    "posts_tag": 8,
    "posts_author": 9,
    "roles_user": 10,
    "members_label": 11,
    "members_newsletter": 12,
    "posts_meta": 13,
}
# uuid5 namespace of this file's uuids, so a post or member keeps its uuid across exports.
_UUID_NAMESPACE = uuid.UUID("6b1f2c3e-8f0a-5d7e-9c41-2f6a0b8e4d13")
ROLES = ("Administrator", "Editor", "Author", "Contributor")
_ROLE_DESCRIPTIONS = {
    "Administrator": "Administrators",
    "Editor": "Editors",
    "Author": "Authors",
    "Contributor": "Contributors",
}
STOPPED_MAIL = {Subscription.Status.BOUNCED, Subscription.Status.COMPLAINED}
_URL_ATTR_RE = re.compile(r'\b(src|href)="(/[^"/][^"]*|/)"')
_SRCSET_RE = re.compile(r'\bsrcset="([^"]*)"')


def ghost_id(kind: str, pk: int) -> str:
    """Return the 24-hex-digit id of our row pk of this kind: stable from export to export."""
    return f"ff{_KINDS[kind]:06x}{pk:016x}"


def stable_uuid(kind: str, pk: int) -> str:
    """Return a uuid for our row, the same in every export of this site."""
    return str(uuid.uuid5(_UUID_NAMESPACE, f"{settings.SITE_URL}/{kind}/{pk}"))


def ghost_date(value: datetime | None) -> str | None:
    """Return value as Ghost writes dates: ISO 8601 in UTC with milliseconds and a Z."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def absolute_url(url: str) -> str:
    """Return url with the site's address in front when it is a path on this site."""
    if not url or url.startswith(("http://", "https://", "mailto:", "#")):
        return url
    if url.startswith("//"):
        return url
    return f"{settings.SITE_URL}/{url.lstrip('/')}"


def export_html(body: str) -> str:
    """Return a post body as the export carries it: every image and link on this site with an
    absolute address, and the "continue reading" divider as Ghost's paywall comment."""
    html = _URL_ATTR_RE.sub(lambda m: f'{m.group(1)}="{absolute_url(m.group(2))}"', body or "")
    html = _SRCSET_RE.sub(
        lambda m: (
            'srcset="'
            + ", ".join(
                " ".join([absolute_url(part.split()[0]), *part.split()[1:]])
                for part in m.group(1).split(",")
                if part.strip()
            )
            + '"'
        ),
        html,
    )
    return html.replace(MORE_DIVIDER, "<!--members-only-->")


def _unique_slugs(names: Iterable[tuple[int, str]], fallback: str) -> dict[int, str]:
    """Return {pk: slug} with every slug unique (a clash gets the pk added)."""
    slugs: dict[int, str] = {}
    taken: set[str] = set()
    for pk, name in names:
        slug = slugify(name)[:180] or f"{fallback}-{pk}"
        if slug in taken:
            slug = f"{slug}-{pk}"
        taken.add(slug)
        slugs[pk] = slug
    return slugs


# --- The tables ----------------------------------------------------------------------------


def _posts(now: str) -> Iterator[dict]:
    sends = NewsletterSend.objects.filter(post=OuterRef("pk")).values("newsletter_id")[:1]
    posts = Post.objects.annotate(sent_to=Subquery(sends)).order_by("pk")
    for post in posts.iterator(chunk_size=200):
        state = post.state
        yield {
            "id": ghost_id("post", post.pk),
            "uuid": stable_uuid("post", post.pk),
            "title": post.title,
            "slug": post.slug,
            "mobiledoc": None,
            "lexical": None,
            "html": export_html(post.body),
            "comment_id": str(post.pk),
            "plaintext": post.body_text,
            "feature_image": absolute_url(post.cover.url) if post.cover else None,
            "featured": post.is_featured,
            "type": "post",
            "status": str(state),
            "locale": None,
            "visibility": "members" if post.is_for_subscribers else "public",
            "email_recipient_filter": "all" if post.sent_to else "none",
            "created_at": ghost_date(post.created_at),
            "updated_at": ghost_date(post.updated_at),
            "published_at": ghost_date(post.published_at),
            "custom_excerpt": post.subtitle or None,
            "codeinjection_head": None,
            "codeinjection_foot": None,
            "custom_template": None,
            "canonical_url": None,
            "newsletter_id": ghost_id("newsletter", post.sent_to) if post.sent_to else None,
            "show_title_and_feature_image": True,
            "futureforward": {
                "daily_takeaway": post.daily_takeaway,
                "comments": post.comments_mode,
                "url": absolute_url(post.get_absolute_url()),
            },
        }


def _posts_meta() -> Iterator[dict]:
    covered = Post.objects.exclude(cover="").order_by("pk").values_list("pk", "cover_alt")
    for pk, alt in covered.iterator(chunk_size=CHUNK):
        yield {
            "id": ghost_id("posts_meta", pk),
            "post_id": ghost_id("post", pk),
            "feature_image_alt": alt or None,
            "email_only": False,
        }


def _tags(now: str) -> Iterator[dict]:
    for tag in Tag.objects.order_by("pk").iterator(chunk_size=CHUNK):
        yield {
            "id": ghost_id("tag", tag.pk),
            "name": tag.name,
            "slug": tag.slug,
            "description": tag.description or None,
            "feature_image": None,
            "parent_id": None,
            "visibility": "public",
            "created_at": now,
            "updated_at": now,
        }


def _links(through, other: str, kind: str, key: str, other_kind: str) -> Iterator[dict]:
    """The rows of a post's many-to-many table (tags, authors), in the order they were added,
    sort_order counting from 0 within each post."""
    rows = through.objects.order_by("post_id", "pk").values_list("pk", "post_id", other)
    current, position = None, 0
    for pk, post_id, other_id in rows.iterator(chunk_size=CHUNK):
        position = position + 1 if post_id == current else 0
        current = post_id
        yield {
            "id": ghost_id(kind, pk),
            "post_id": ghost_id("post", post_id),
            key: ghost_id(other_kind, other_id),
            "sort_order": position,
        }


def _staff():
    return User.objects.filter(Q(is_staff=True) | Q(posts__isnull=False)).distinct().order_by("pk")


def _role_of(user: User) -> str:
    if user.is_superuser:
        return "Administrator"
    return "Editor" if user.is_staff else "Contributor"


def _users(now: str) -> Iterator[dict]:
    people = list(_staff())
    slugs = _unique_slugs(((user.pk, user.public_name) for user in people), "author")
    for user in people:
        yield {
            "id": ghost_id("user", user.pk),
            "name": user.public_name,
            "slug": slugs[user.pk],
            "email": user.email,
            "profile_image": absolute_url(user.avatar.url) if user.avatar else None,
            "cover_image": None,
            "bio": user.bio or None,
            "website": None,
            "location": None,
            "status": "active" if user.is_active else "inactive",
            "visibility": "public",
            "created_at": ghost_date(user.date_joined),
            "updated_at": ghost_date(user.last_login or user.date_joined),
            "futureforward": {"url": absolute_url(f"/author/{user.pk}/")},
        }


def _roles(now: str) -> Iterator[dict]:
    for index, name in enumerate(ROLES, start=1):
        yield {
            "id": ghost_id("role", index),
            "name": name,
            "description": _ROLE_DESCRIPTIONS[name],
            "created_at": now,
            "updated_at": now,
        }


def _roles_users() -> Iterator[dict]:
    for user in _staff():
        yield {
            "id": ghost_id("roles_user", user.pk),
            "role_id": ghost_id("role", ROLES.index(_role_of(user)) + 1),
            "user_id": ghost_id("user", user.pk),
        }


def _newsletters(now: str) -> Iterator[dict]:
    for newsletter in Newsletter.objects.order_by("position", "pk").iterator(chunk_size=CHUNK):
        yield {
            "id": ghost_id("newsletter", newsletter.pk),
            "uuid": stable_uuid("newsletter", newsletter.pk),
            "name": newsletter.name,
            "description": newsletter.description or None,
            "slug": newsletter.slug,
            "sender_name": newsletter.sender_name or None,
            "sender_email": None,
            "sender_reply_to": "newsletter",
            "status": "archived" if newsletter.is_archived else "active",
            "visibility": "members",
            "subscribe_on_signup": newsletter.is_default,
            "sort_order": newsletter.position,
            "created_at": ghost_date(newsletter.created_at),
            "updated_at": now,
            "futureforward": {"readers_may_choose": newsletter.is_choosable},
        }


def _members() -> Iterator[dict]:
    subscriptions = (
        Subscription.objects.order_by("pk")
        .values_list(
            "user_id",
            "user__email",
            "user__display_name",
            "status",
            "source",
            "created_at",
            "confirmed_at",
            "unsubscribed_at",
            "status_reason",
            "user__subscriber_note__text",
        )
        .iterator(chunk_size=CHUNK)
    )
    for row in subscriptions:
        user_id, email, name, status, source, created, confirmed, left, reason, note = row
        dates = [date for date in (created, confirmed, left) if date is not None]
        yield {
            "id": ghost_id("member", user_id),
            "uuid": stable_uuid("member", user_id),
            "email": email,
            "status": "free",
            "name": name or None,
            "note": note or None,
            "subscribed": status == Subscription.Status.ACTIVE,
            "email_disabled": status in STOPPED_MAIL,
            "created_at": ghost_date(created),
            "updated_at": ghost_date(max(dates)),
            "futureforward": {
                "status": status,
                "source": source,
                "confirmed_at": ghost_date(confirmed),
                "unsubscribed_at": ghost_date(left),
                "status_reason": reason,
            },
        }


def _labels() -> Iterator[dict]:
    tags = list(SubscriberTag.objects.order_by("pk").values_list("pk", "name", "created_at"))
    slugs = _unique_slugs(((pk, name) for pk, name, _created in tags), "label")
    for pk, name, created in tags:
        yield {
            "id": ghost_id("label", pk),
            "name": name,
            "slug": slugs[pk],
            "created_at": ghost_date(created),
            "updated_at": ghost_date(created),
        }


def _members_labels() -> Iterator[dict]:
    through = SubscriberTag.readers.through
    rows = (
        through.objects.filter(user__subscription__isnull=False)
        .order_by("user_id", "pk")
        .values_list("pk", "user_id", "subscribertag_id")
    )
    current, position = None, 0
    for pk, user_id, tag_id in rows.iterator(chunk_size=CHUNK):
        position = position + 1 if user_id == current else 0
        current = user_id
        yield {
            "id": ghost_id("members_label", pk),
            "member_id": ghost_id("member", user_id),
            "label_id": ghost_id("label", tag_id),
            "sort_order": position,
        }


def _members_newsletters() -> Iterator[dict]:
    """Memberships that receive mail: subscribed, of a reader whose subscription is active.
    In Ghost, a member with no row here gets no newsletter, which is what "unsubscribed",
    "bounced" and "pending" come to."""
    rows = (
        Membership.objects.filter(
            status=Membership.Status.SUBSCRIBED,
            user__subscription__status=Subscription.Status.ACTIVE,
        )
        .order_by("user_id", "newsletter_id")
        .values_list("pk", "user_id", "newsletter_id")
    )
    for pk, user_id, newsletter_id in rows.iterator(chunk_size=CHUNK):
        yield {
            "id": ghost_id("members_newsletter", pk),
            "member_id": ghost_id("member", user_id),
            "newsletter_id": ghost_id("newsletter", newsletter_id),
        }


# --- The file ------------------------------------------------------------------------------


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _array(rows: Iterable[dict]) -> Iterator[str]:
    yield "["
    first = True
    for row in rows:
        yield _json(row) if first else "," + _json(row)
        first = False
    yield "]"


def export_tables() -> list[tuple[str, Iterable[dict]]]:
    """Return the tables of the export in file order, each as (name, rows not yet read)."""
    now = ghost_date(timezone.now())
    return [
        ("posts", _posts(now)),
        ("posts_meta", _posts_meta()),
        ("tags", _tags(now)),
        ("posts_tags", _links(Post.tags.through, "tag_id", "posts_tag", "tag_id", "tag")),
        ("users", _users(now)),
        (
            "posts_authors",
            _links(Post.authors.through, "user_id", "posts_author", "author_id", "user"),
        ),
        ("roles", _roles(now)),
        ("roles_users", _roles_users()),
        ("newsletters", _newsletters(now)),
        ("members", _members()),
        ("labels", _labels()),
        ("members_labels", _members_labels()),
        ("members_newsletters", _members_newsletters()),
    ]


def _counted(rows: Iterable[dict], count: Callable[[], None]) -> Iterator[dict]:
    for row in rows:
        yield row
        count()


def ghost_export_chunks(*, on_member: Callable[[], None] | None = None) -> Iterator[str]:
    """Yield the Ghost JSON export piece by piece (join them for the whole file); on_member, if
    given, is called after each subscriber is yielded (a prepared export counts them)."""
    meta = {
        "exported_on": int(timezone.now().timestamp() * 1000),
        "version": GHOST_VERSION,
        "futureforward": {"site_url": settings.SITE_URL},
    }
    yield '{"db":[{"meta":' + _json(meta) + ',"data":{'
    for index, (name, rows) in enumerate(export_tables()):
        if name == "members" and on_member is not None:
            rows = _counted(rows, on_member)
        yield ("," if index else "") + _json(name) + ":"
        yield from _array(rows)
    yield "}}]}\n"


def export_filename() -> str:
    return f"futureforward-{timezone.localdate().isoformat()}.ghost.json"
