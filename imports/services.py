"""Importing another platform's export: the dry run, the run, and fetching the images.

The dry run and the run make the same decisions row by row (`_decide_posts`,
`_decide_subscribers`), so what the dry run promised is what the run does, unless the database
changed in between, in which case the run follows the database. Every write is one that can
run twice: posts are matched by their id on the old platform (ImportedPost), subscribers by
their normalised address (the subscribe flow's rule, accounts.addresses), and every insert of a
row that may already exist is an ON CONFLICT DO NOTHING or runs under a row lock, so two runs of
the same file at once make nothing twice.

Nobody whose subscription here is unsubscribed, bounced or complained is made active again,
whatever the file says; imported subscribers get no confirmation or welcome email (they were
subscribers elsewhere already), like the subscriber list's CSV import before this app.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from accounts import addresses, names
from accounts.models import Subscription, User
from imports import formats
from imports.models import Import, ImportedPost, OldAddress, RemoteImage
from newsletter.models import Membership, Newsletter, SubscriberTag
from posts import remote
from posts.models import BodyImage, Post, Tag
from posts.services import store_body_image

logger = logging.getLogger(__name__)

CHUNK = 500
REPORT_LIMIT = 2000  # rows kept in the report per kind of outcome; the counts are complete
SOURCE = "import"  # the subscription's and membership's source: segments find imports by it
LEFT = {
    Subscription.Status.UNSUBSCRIBED,
    Subscription.Status.BOUNCED,
    Subscription.Status.COMPLAINED,
}


@dataclass
class Decision:
    what: str  # "post" or "subscriber"
    where: str
    key: str
    action: str  # "create", "update", "skip" or "problem"
    message: str


class Report:
    """The counts of every outcome, and the rows themselves up to REPORT_LIMIT per outcome."""

    def __init__(self):
        self.counts: dict[str, dict[str, int]] = {}
        self.rows: list[dict] = []
        self._kept: dict[str, int] = {}

    def add(self, decision: Decision) -> None:
        counts = self.counts.setdefault(decision.what, {})
        counts[decision.action] = counts.get(decision.action, 0) + 1
        kept = self._kept.get(decision.action, 0)
        if kept < REPORT_LIMIT:
            self._kept[decision.action] = kept + 1
            self.rows.append(decision.__dict__.copy())


# --- Starting: the upload, the dry run, the confirmation ---


@transaction.atomic
def create_import(
    *,
    kind: str,
    data: bytes,
    filename: str,
    newsletter: Newsletter | None,
    old_site_url: str,
    created_by: User | None,
    posts_author: User | None = None,
) -> Import:
    """Store an uploaded file and enqueue its dry run; return the Import."""
    from imports.tasks import check_import as check_import_task

    job = Import.objects.create(
        kind=kind,
        data=data,
        filename=filename[:255],
        size=len(data),
        newsletter=newsletter,
        old_site_url=old_site_url,
        created_by=created_by,
        posts_author=posts_author,
    )
    transaction.on_commit(lambda: check_import_task.enqueue(import_id=job.pk))
    return job


def _read(job: Import) -> formats.Bundle:
    return formats.read(job.kind, bytes(job.data), filename=job.filename)


def check_import(*, import_id: int) -> Import:
    """The dry run: read the file and record what a run would create, update and skip."""
    job = Import.objects.get(pk=import_id)
    try:
        bundle = _read(job)
    except formats.FileRefused as exc:
        return _refuse(job, str(exc))
    report = Report()
    for decision, _row, _extra in _decide_posts(bundle.posts, job):
        report.add(decision)
    seen: set[str] = set()
    for chunk in _chunks(bundle.subscribers):
        for decision, _row, _extra in _decide_subscribers(chunk, seen):
            report.add(decision)
    if not bundle.posts and not bundle.subscribers:
        return _refuse(job, "The file holds no posts and no subscribers: nothing to import.")
    job.status = Import.Status.CHECKED
    job.counts, job.report = report.counts, report.rows
    job.progress_total = len(bundle.posts) + len(bundle.subscribers)
    job.progress_done = 0
    job.error = ""
    job.save(
        update_fields=["status", "counts", "report", "progress_total", "progress_done", "error"]
    )
    return job


def _refuse(job: Import, message: str) -> Import:
    job.status = Import.Status.REFUSED
    job.error = message
    job.counts, job.report = {}, []
    job.save(update_fields=["status", "error", "counts", "report"])
    return job


def start_import(*, job: Import) -> bool:
    """Mark a checked (or finished) import as running and enqueue the run; return False if it
    is running already or was refused. One conditional UPDATE, so a double click starts one."""
    from imports.tasks import run_import as run_import_task

    startable = [Import.Status.CHECKED, Import.Status.DONE, Import.Status.FAILED]
    with transaction.atomic():
        started = Import.objects.filter(pk=job.pk, status__in=startable).update(
            status=Import.Status.RUNNING,
            started_at=timezone.now(),
            finished_at=None,
            progress_done=0,
            error="",
        )
        if started:
            transaction.on_commit(lambda: run_import_task.enqueue(import_id=job.pk))
    return bool(started)


# --- The run ---


def run_import(*, import_id: int) -> Import:
    """Import everything the file holds, recording progress as it goes; return the Import."""
    job = Import.objects.select_related("newsletter", "created_by", "posts_author").get(
        pk=import_id
    )
    try:
        bundle = _read(job)
        report = Report()
        targets = _target_newsletters(bundle, job)
        state = _RunState(newsletter_details=bundle.newsletter_details)
        for decision, row, _extra in _decide_posts(bundle.posts, job):
            if decision.action in {"create", "update"}:
                decision = _apply_post(job, row, decision)
            report.add(decision)
            _advance(job, 1)
        for chunk in _chunks(bundle.subscribers):
            report_rows = _apply_subscribers(job, chunk, targets, state)
            for decision in report_rows:
                report.add(decision)
            _advance(job, len(chunk))
    except formats.FileRefused as exc:
        return _refuse(job, str(exc))
    except Exception as exc:
        logger.exception("import %s failed", import_id)
        Import.objects.filter(pk=job.pk).update(
            status=Import.Status.FAILED,
            finished_at=timezone.now(),
            error=(
                f"The import stopped: {exc}. What was imported before stays; running it again "
                "continues without making anything twice."
            )[:2000],
        )
        job.refresh_from_db()
        return job
    Import.objects.filter(pk=job.pk).update(
        status=Import.Status.DONE,
        finished_at=timezone.now(),
        counts=report.counts,
        report=report.rows,
        progress_done=F("progress_total"),
    )
    job.refresh_from_db()
    return job


def _advance(job: Import, rows: int) -> None:
    Import.objects.filter(pk=job.pk).update(progress_done=F("progress_done") + rows)


def _chunks(rows: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# --- Posts ---


def _decide_posts(rows: list[formats.PostRow], job: Import):
    """Yield (decision, row, None) for each post row, against the database as it is now."""
    source = job.kind
    known = dict(
        ImportedPost.objects.filter(
            source=source, source_id__in=[row.source_id for row in rows if row.source_id]
        ).values_list("source_id", "post_id")
    )
    taken = set(
        Post.objects.filter(slug__in=[row.slug for row in rows if row.slug]).values_list(
            "slug", flat=True
        )
    )
    seen: set[str] = set()
    for row in rows:
        key = row.slug or row.source_id
        if row.problem:
            yield Decision("post", row.where, key, "problem", row.problem), row, None
        elif row.source_id in seen:
            message = "the same post appears again in the file; the first one is used."
            yield Decision("post", row.where, key, "skip", message), row, None
        elif row.source_id in known:
            message = "imported before: updated from the file (title, body, dates, tags)."
            yield Decision("post", row.where, key, "update", message), row, None
        elif row.slug in taken:
            message = (
                f"another post already has the address /p/{row.slug}/; ours keeps it, the "
                "imported one gets a new one, and its old address leads to the imported post."
            )
            yield Decision("post", row.where, key, "create", message), row, None
        else:
            status = "published" if row.is_published else "draft"
            gate = ", subscribers only" if row.for_subscribers else ""
            message = f"new post ({status}{gate})."
            yield Decision("post", row.where, key, "create", message), row, None
        seen.add(row.source_id)


def _apply_post(job: Import, row: formats.PostRow, decision: Decision) -> Decision:
    """Create or update one post from row; return what happened. Retries after losing a race
    with another run of the same file (unique slug or source id)."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _write_post(job, row)
        except IntegrityError:
            continue
    return Decision("post", row.where, row.slug, "problem", "could not be saved; run it again.")


def _write_post(job: Import, row: formats.PostRow) -> Decision:
    link = (
        ImportedPost.objects.select_for_update()
        .select_related("post")
        .filter(source=job.kind, source_id=row.source_id)
        .first()
    )
    fetched = (
        {
            image.url: image.body_image
            for image in RemoteImage.objects.filter(
                post_id=link.post_id if link else None, status=RemoteImage.Status.FETCHED
            ).select_related("body_image")
            if image.body_image
        }
        if link
        else {}
    )
    body, images = prepare_body(row.html, base_url=job.old_site_url, fetched=fetched)
    post = link.post if link else Post(slug=_free_slug(row.slug))
    post.title = row.title
    post.subtitle = row.subtitle
    post.body = body
    post.audience = Post.Audience.SUBSCRIBERS if row.for_subscribers else Post.Audience.EVERYONE
    if row.daily_takeaway is not None:
        post.daily_takeaway = row.daily_takeaway
    if row.comments_mode is not None:
        post.comments_mode = row.comments_mode
    if row.is_published:
        post.status = Post.Status.PUBLISHED
        post.published_at = row.published_at or post.published_at or timezone.now()
    else:
        post.status = Post.Status.DRAFT
        post.published_at = None
    post.save()
    if link:
        link.source_html = row.html
        link.save(update_fields=["source_html"])
    else:
        ImportedPost.objects.create(
            source=job.kind, source_id=row.source_id, post=post, source_html=row.html
        )
    authors = _authors(row, job)
    if authors:
        post.authors.set(authors)
    post.tags.set(_tags(row.tags))
    # Only an address that differs from ours needs remembering (Substack's /p/<slug> is ours
    # when the slug was free: the missing slash is CommonMiddleware's redirect).
    if row.old_path and row.old_path.rstrip("/") != post.get_absolute_url().rstrip("/"):
        OldAddress.objects.bulk_create(
            [OldAddress(path=row.old_path[:300], post=post)], ignore_conflicts=True
        )
    wanted = [RemoteImage(source_import=job, post=post, url=url, alt=alt) for url, alt in images]
    cover = _absolute(row.feature_image, job.old_site_url)
    if cover and not post.cover:
        wanted.append(
            RemoteImage(source_import=job, post=post, url=cover, role=RemoteImage.Role.COVER)
        )
    RemoteImage.objects.bulk_create(wanted, ignore_conflicts=True)
    if link:
        return Decision("post", row.where, post.slug, "update", "updated from the file.")
    moved = (
        f" (the address /p/{row.slug}/ was taken: now /p/{post.slug}/)"
        if post.slug != row.slug
        else ""
    )
    return Decision("post", row.where, post.slug, "create", f"created{moved}.")


def _free_slug(slug: str) -> str:
    """Return slug, or slug-2, slug-3… when a post has it already."""
    base = slug[:190] or "imported"
    candidate, number = base, 1
    while Post.objects.filter(slug=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _authors(row: formats.PostRow, job: Import) -> list[User]:
    """Return the post's authors: the file's (made staff accounts that cannot log in when new),
    else the author the editor chose on the upload form, else the editor who uploaded it."""
    found = []
    for author in row.authors:
        if addresses.problem(author.email):
            continue
        email = addresses.normalize(author.email)
        user = User.objects.filter(email=email).first()
        if user is None:
            name = author.name if not names.problem(author.name) else ""
            try:
                with transaction.atomic():
                    # Staff so the admin offers them as authors; inactive and without a password
                    # so the account can never log in: they wrote on the old platform, and an
                    # editor who wants them here gives them a login deliberately.
                    user = User.objects.create_user(
                        email=email, display_name=name[:100], is_staff=True, is_active=False
                    )
            except IntegrityError:
                user = User.objects.get(email=email)
        found.append(user)
    fallback = job.posts_author or job.created_by
    if not found and fallback is not None:
        found.append(fallback)
    return found


def _tags(pairs: list[tuple[str, str]]) -> list[Tag]:
    tags = []
    for name, slug in pairs:
        slug = (slug or slugify(name))[:60]
        if not slug:
            continue
        tag = Tag.objects.filter(Q(slug=slug) | Q(name=name)).first()
        if tag is None:
            try:
                with transaction.atomic():
                    tag = Tag.objects.create(name=name[:50], slug=slug)
            except IntegrityError:
                tag = Tag.objects.filter(Q(slug=slug) | Q(name=name)).first()
        if tag is not None:
            tags.append(tag)
    return tags


# --- Post bodies and their images ---

_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([a-zA-Z_:][-\w:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_FIGURE = re.compile(r"<(/?)fig(?:ure|caption)\b[^>]*>", re.IGNORECASE)
_LINK = re.compile(r'<a href="([^"]*)"[^>]*>([^<]*)</a>')
# What a figure became at import (prepare_body): its image's link, then its caption, in blocks.
_FIGURE_LEFT = re.compile(
    r'<div>\s*<a href="([^"]*)"[^>]*>[^<]*</a>\s*'
    r"(?:<div>((?:(?!</?div\b)[\s\S])*)</div>\s*)?</div>"
)


def _attributes(tag: str) -> dict[str, str]:
    return {
        name.lower(): html.unescape(first or second or third)
        for name, first, second, third in _ATTR.findall(tag[4:])
    }


def _absolute(url: str, base_url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    if base_url:
        url = urljoin(
            base_url.rstrip("/") + "/", url.replace("__GHOST_URL__", base_url.rstrip("/"))
        )
    return url if url.startswith(("http://", "https://")) else ""


def _placeholder(url: str, alt: str) -> str:
    text = f"Image: {alt}" if alt else "Image"
    return f'<a href="{html.escape(url)}">{html.escape(text)}</a>'


def _our_image(image: BodyImage, alt: str) -> str:
    return (
        f'<img src="{html.escape(default_storage.url(image.largest()["name"]))}" '
        f'alt="{html.escape(alt or "Image")}">'
    )


def prepare_body(
    source: str, *, base_url: str = "", fetched: dict[str, BodyImage] | None = None
) -> tuple[str, list[tuple[str, str]]]:
    """Return (body, [(image url, alt)]) for an imported post's HTML.

    Our sanitiser keeps only images our pipeline made, so each image from elsewhere becomes a
    link to it ("Image: <alt>") until an editor fetches it; one already fetched is written as
    ours. Figures become plain blocks, as a figure without an image would be dropped whole,
    caption and all; fetching the image makes them figures again (_put_in_body).
    """
    fetched = fetched or {}
    images: list[tuple[str, str]] = []

    def replace(match: re.Match) -> str:
        attributes = _attributes(match.group(0))
        url = _absolute(attributes.get("src", ""), base_url)
        alt = " ".join(attributes.get("alt", "").split())[:250]
        if not url:
            return ""
        if url in fetched:
            return _our_image(fetched[url], alt)
        if (url, alt) not in images:
            images.append((url, alt))
        return _placeholder(url, alt)

    body = _IMG.sub(replace, source or "")
    body = _FIGURE.sub(lambda m: "</div>" if m.group(1) else "<div>", body)
    # Ghost writes links to its own pages as __GHOST_URL__/<slug>/: on this site that path is
    # the old address, which leads to the imported post.
    body = body.replace('href="__GHOST_URL__/', 'href="/')
    return body, images


# --- Subscribers ---


def _decide_subscribers(rows: list[formats.SubscriberRow], seen: set[str] | None = None):
    """Yield (decision, row, (email, existing user id, existing status)) for a chunk of rows."""
    if seen is None:
        seen = set()
    valid = []
    for row in rows:
        if row.problem:
            yield (
                Decision("subscriber", row.where, row.email[:100], "problem", row.problem),
                row,
                None,
            )
            continue
        if row.skip:
            yield Decision("subscriber", row.where, row.email[:100], "skip", row.skip), row, None
            continue
        reason = addresses.problem(row.email)
        if reason:
            yield (
                Decision("subscriber", row.where, row.email[:100], "problem", str(reason)),
                row,
                None,
            )
            continue
        valid.append((row, addresses.normalize(row.email)))
    emails = [email for _row, email in valid]
    existing = {
        email: (pk, status)
        for email, pk, status in User.objects.filter(email__in=emails).values_list(
            "email", "pk", "subscription__status"
        )
    }
    for row, email in valid:
        if email in seen:
            message = "the same address appears earlier in the file; this row is left out."
            yield Decision("subscriber", row.where, email, "skip", message), row, None
            continue
        seen.add(email)
        user_id, status = existing.get(email, (None, None))
        extra = (email, user_id, status)
        if status in LEFT:
            message = (
                f"{Subscription.Status(status).label.lower()} here: never made active again "
                "by an import."
            )
            yield Decision("subscriber", row.where, email, "skip", message), row, extra
        elif user_id is None:
            message = (
                "new subscriber."
                if row.status == "active"
                else f"new, kept as {row.status} (as on the old platform): receives nothing."
            )
            yield Decision("subscriber", row.where, email, "create", message), row, extra
        elif status == Subscription.Status.ACTIVE:
            message = "already subscribed: tags and newsletters from the file are added."
            yield Decision("subscriber", row.where, email, "update", message), row, extra
        elif row.status != "active":
            message = f"known reader, {row.status} on the old platform: not subscribed."
            yield Decision("subscriber", row.where, email, "skip", message), row, extra
        else:
            message = "known reader, not yet subscribed: becomes a subscriber."
            yield Decision("subscriber", row.where, email, "update", message), row, extra


def _target_newsletters(bundle: formats.Bundle, job: Import) -> Newsletter | None:
    """The newsletter subscribers go to when the file names none."""
    if job.newsletter_id and not job.newsletter.is_archived:
        return job.newsletter
    return Newsletter.objects.default()


def _newsletters_named(
    pairs: Iterable[tuple[str, str]], cache: dict, details: dict[str, dict] | None = None
) -> list[Newsletter]:
    """Return our newsletters for the file's (name, slug) pairs, creating missing ones with
    what the file says of them (`details` by slug; not offered to readers unless a file of
    ours says so). A newsletter we have already keeps its settings."""
    found = []
    for name, slug in pairs:
        slug = (slug or slugify(name))[:100]
        if not slug:
            continue
        if slug not in cache:
            newsletter = Newsletter.objects.filter(slug=slug).first()
            if newsletter is None:
                newsletter, _created = Newsletter.objects.get_or_create(
                    slug=slug,
                    defaults={
                        "name": (name or slug)[:100],
                        "is_default": False,
                        "is_choosable": False,
                        **(details or {}).get(slug, {}),
                    },
                )
            cache[slug] = newsletter
        found.append(cache[slug])
    return found


@dataclass
class _RunState:
    """What one run remembers from chunk to chunk: addresses seen, newsletters found."""

    seen: set[str] = field(default_factory=set)
    newsletters: dict[str, Newsletter] = field(default_factory=dict)
    newsletter_details: dict[str, dict] = field(default_factory=dict)  # the file's, by slug


def _apply_subscribers(
    job: Import, rows: list[formats.SubscriberRow], fallback: Newsletter | None, state: _RunState
) -> list[Decision]:
    """Import one chunk of subscriber rows in one transaction; return the decisions."""
    now = timezone.now()
    reason = f"Imported from {Import.Kind(job.kind).label.split(' (')[0]}."
    cache, seen = state.newsletters, state.seen
    with transaction.atomic():
        decided = list(_decide_subscribers(rows, seen))
        acting = [(d, row, extra) for d, row, extra in decided if d.action in {"create", "update"}]
        new = {extra[0]: row for d, row, extra in acting if extra[1] is None}
        User.objects.bulk_create(
            [
                User(
                    email=email,
                    password=make_password(None),
                    display_name=("" if names.problem(row.name) else names.normalize(row.name))[
                        :100
                    ],
                    date_joined=row.created_at or now,
                )
                for email, row in new.items()
            ],
            ignore_conflicts=True,
        )
        ids = dict(
            User.objects.filter(email__in=[extra[0] for _d, _r, extra in acting]).values_list(
                "email", "pk"
            )
        )
        EmailAddress.objects.bulk_create(
            [
                EmailAddress(user_id=ids[email], email=email, primary=True, verified=False)
                for email in new
                if email in ids
            ],
            ignore_conflicts=True,
        )
        # Locked, so a reader unsubscribing meanwhile is seen, and two runs agree.
        statuses = dict(
            Subscription.objects.select_for_update()
            .filter(user_id__in=ids.values())
            .values_list("user_id", "status")
        )
        to_create, to_activate, results = [], [], []
        memberships: list[Membership] = []
        tagged: list[tuple[int, str]] = []
        fresh: set[int] = set()
        for decision, row, extra in decided:
            if decision.action not in {"create", "update"}:
                results.append(decision)
                continue
            email = extra[0]
            user_id = ids.get(email)
            status = statuses.get(user_id)
            if user_id is None or status in LEFT:
                results.append(
                    Decision(
                        "subscriber",
                        row.where,
                        email,
                        "skip",
                        "unsubscribed here meanwhile: left alone.",
                    )
                )
                continue
            active = row.status == "active"
            if status is None:
                joined = row.created_at or now
                to_create.append(
                    Subscription(
                        user_id=user_id,
                        status=row.status if not active else Subscription.Status.ACTIVE,
                        source=SOURCE,
                        created_at=joined,
                        confirmed_at=joined if active else None,
                        unsubscribed_at=None if active else now,
                        status_reason=reason,
                    )
                )
                fresh.add(user_id)
            elif status == Subscription.Status.PENDING and active:
                to_activate.append(user_id)
            if active:
                targets = (
                    _newsletters_named(row.newsletters, cache, state.newsletter_details)
                    if row.newsletters
                    else [fallback]
                )
                memberships += [
                    Membership(
                        user_id=user_id,
                        newsletter=newsletter,
                        source=SOURCE,
                        created_at=row.created_at or now,
                    )
                    for newsletter in targets
                    if newsletter is not None
                ]
            tagged += [(user_id, tag) for tag in row.tags]
            results.append(decision)
        Subscription.objects.bulk_create(to_create, ignore_conflicts=True)
        Subscription.objects.filter(
            user_id__in=to_activate, status=Subscription.Status.PENDING
        ).update(status=Subscription.Status.ACTIVE, confirmed_at=now, status_reason=reason)
        # The database gives every new subscription the default newsletters (newsletter
        # migration 0005); an imported one gets the newsletters the file or the editor named.
        named = {(m.user_id, m.newsletter.pk) for m in memberships}
        trigger_made = Membership.objects.filter(
            user_id__in=fresh, source=SOURCE, newsletter__is_default=True
        ).values_list("pk", "user_id", "newsletter_id")
        Membership.objects.filter(
            pk__in=[pk for pk, user_id, nl in trigger_made if (user_id, nl) not in named]
        ).delete()
        Membership.objects.bulk_create(memberships, ignore_conflicts=True)
        _tag(tagged)
    return results


def _tag(tagged: list[tuple[int, str]]) -> None:
    if not tagged:
        return
    wanted = {name for _user_id, name in tagged}
    SubscriberTag.objects.bulk_create(
        [SubscriberTag(name=name) for name in wanted], ignore_conflicts=True
    )
    tag_ids = dict(SubscriberTag.objects.filter(name__in=wanted).values_list("name", "pk"))
    through = SubscriberTag.readers.through
    through.objects.bulk_create(
        [
            through(subscribertag_id=tag_ids[name], user_id=user_id)
            for user_id, name in set(tagged)
            if name in tag_ids
        ],
        ignore_conflicts=True,
    )


# --- Images ---


def start_fetching_images(*, job: Import) -> bool:
    """Enqueue fetching the import's images not fetched yet; return False if there are none or
    they are being fetched already (two clicks at once start one task)."""
    from imports.tasks import fetch_images as fetch_images_task

    waiting = job.images.exclude(status=RemoteImage.Status.FETCHED)
    if not waiting.exists():
        return False
    now = timezone.now()
    idle = Q(images_asked_at__isnull=True) | Q(images_asked_at__lte=now - job.IMAGES_WATCHED_FOR)
    if not Import.objects.filter(idle, pk=job.pk).update(images_asked_at=now):
        return False
    waiting.filter(status=RemoteImage.Status.FAILED).update(
        status=RemoteImage.Status.WAITING, error=""
    )
    transaction.on_commit(lambda: fetch_images_task.enqueue(import_id=job.pk))
    return True


def fetch_images(*, import_id: int) -> int:
    """Fetch every waiting image of an import into our pipeline; return how many arrived."""
    arrived = 0
    try:
        for image_id in RemoteImage.objects.filter(
            source_import_id=import_id, status=RemoteImage.Status.WAITING
        ).values_list("pk", flat=True):
            if fetch_image(image_id=image_id):
                arrived += 1
    finally:
        Import.objects.filter(pk=import_id).update(images_asked_at=None)
    return arrived


def fetch_image(*, image_id: int) -> bool:
    """Fetch one image, check it as an upload, store it and put it in its post; return True
    when it arrived. A refusal is recorded on the image in words."""
    image = RemoteImage.objects.select_related("post").get(pk=image_id)
    try:
        fetched = remote.fetch(
            image.url,
            max_bytes=settings.POSTS_IMAGE_MAX_BYTES,
            timeout=settings.IMPORTS_FETCH_TIMEOUT_SECONDS,
            allow_loopback=settings.IMPORTS_FETCH_ALLOW_LOOPBACK,
        )
        if not fetched.content_type.startswith("image/"):
            raise remote.FetchRefused(
                f"The address answered {fetched.content_type or 'no type'}, not an image."
            )
        name = (image.url.split("?", 1)[0].rsplit("/", 1)[-1] or "image")[:80]
        upload = ContentFile(fetched.content, name=name)
        if image.role == RemoteImage.Role.COVER:
            _set_cover(image, upload)
        else:
            _put_in_body(image, upload)
    except (remote.FetchRefused, ValidationError) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        RemoteImage.objects.filter(pk=image.pk).update(
            status=RemoteImage.Status.FAILED, error=message[:300]
        )
        return False
    return True


def _set_cover(image: RemoteImage, upload: ContentFile) -> None:
    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=image.post_id)
        post.cover = upload
        post.cover_alt = post.cover_alt or post.title[:250]
        post.save()
        RemoteImage.objects.filter(pk=image.pk).update(status=RemoteImage.Status.FETCHED, error="")


def _put_in_body(image: RemoteImage, upload: ContentFile) -> None:
    stored = store_body_image(upload=upload, uploaded_by=None)
    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=image.post_id)

        def replace(match: re.Match) -> str:
            if html.unescape(match.group(1)) != image.url:
                return match.group(0)
            return _our_image(stored, image.alt)

        def refigure(match: re.Match) -> str:
            # A figure is a figure again, caption and all, once its image is ours.
            if html.unescape(match.group(1)) != image.url:
                return match.group(0)
            caption = f"<figcaption>{match.group(2)}</figcaption>" if match.group(2) else ""
            return f"<figure>{_our_image(stored, image.alt)}{caption}</figure>"

        post.body = _LINK.sub(replace, _FIGURE_LEFT.sub(refigure, post.body))
        post.save()
        RemoteImage.objects.filter(pk=image.pk).update(
            status=RemoteImage.Status.FETCHED, error="", body_image=stored
        )
