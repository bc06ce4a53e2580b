"""Post workflows: publishing, unpublishing and the thumbs up.

Lock order (the one rule of comments/services.py): a writer locks the rows it relies on before
it writes anything, and the post's page version comes last, moved on by the triggers at the end
of each writing statement. A thumbs up is one statement (its row, then the version), so giving
and taking one back at the same moment take turns on the row and never wait in a circle.
"""

import copy
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.images import clean_image
from accounts.models import User
from posts.images import BODY_IMAGE_DIR, delete_renditions, make_renditions
from posts.models import BodyImage, Post, PostDraft, PostRevision, ThumbsUp
from posts.revisions.models import KEEP_REVISIONS
from posts.richtext import sanitize_body
from posts.signals import post_published


@transaction.atomic
def publish_post(*, post: Post, at: datetime | None = None, by: User | None = None) -> Post:
    """Publish post now, or schedule it for `at`; return it.

    A post that already has a publish time in the past keeps it, so publishing again never
    moves a post up the home page. The post moves to a new version (with a revision naming
    `by`), so an edit form opened before is told instead of putting the old status back.
    """
    now = timezone.now()
    if at is not None:
        post.published_at = at
    elif post.published_at is None or post.published_at > now:
        post.published_at = now
    post.status = Post.Status.SCHEDULED if post.published_at > now else Post.Status.PUBLISHED
    _save_status(post=post, by=by)
    if post.status == Post.Status.PUBLISHED:
        transaction.on_commit(lambda: post_published.send(sender=Post, post=post))
    return post


@transaction.atomic
def unpublish_post(*, post: Post, by: User | None = None) -> Post:
    """Take post back to draft: readers no longer see it; staff still can."""
    post.status = Post.Status.DRAFT
    _save_status(post=post, by=by)
    return post


def _save_status(*, post: Post, by: User | None) -> None:
    """Save post's status and publish time as a new version of the row as it is now."""
    current = Post.objects.select_for_update().get(pk=post.pk)
    before = copy.copy(current)
    current.status, current.published_at = post.status, post.published_at
    current.version += 1
    current.save(update_fields=["status", "published_at", "version", "updated_at"])
    post.status, post.published_at = current.status, current.published_at
    post.version, post.updated_at = current.version, current.updated_at
    record_revision(post=current, author=by, previous=before, kind=PostRevision.Kind.STATUS)


def set_thumbs_up(*, post: Post, user: User, given: bool) -> int:
    """Give or take back user's thumbs up on post; return the post's count right after, which
    includes this reader's change (one round trip, one short transaction).

    Safe under concurrency and repetition: the insert skips an existing row (the database's
    unique constraint decides), and deleting a missing row does nothing.
    """
    return ThumbsUp.objects.set_given(post_id=post.pk, user_id=user.pk, given=given)


# --- Revisions, autosave and optimistic locking ---


class EditConflict(Exception):
    """Someone saved the post after the version an editor's change started from."""

    def __init__(self, *, post: Post, revision: PostRevision | None):
        self.post = post
        self.revision = revision
        super().__init__(str(self.message))

    @property
    def message(self) -> str:
        """What the editor is told: who changed the post, and when."""
        if self.revision is None:
            return _(
                "This post was changed by someone else after you opened it (it is now at "
                "version %(version)d)."
            ) % {"version": self.post.version}
        return _(
            "%(who)s saved this post at %(when)s (version %(version)d) after you opened it."
        ) % {
            "who": self.revision.author_name,
            "when": date_format(timezone.localtime(self.revision.created_at), "DATETIME_FORMAT"),
            "version": self.revision.version,
        }


def lock_for_edit(*, post_id: int, base_version: int | None) -> Post:
    """Lock the post's row until the transaction ends and return it as it is now.

    Raises EditConflict when base_version is not the current version: two saves from the same
    version take turns on the lock, and the second one finds the version moved on.
    Must run inside a transaction (the admin's change view is one).
    """
    current = Post.objects.select_for_update().get(pk=post_id)
    if base_version != current.version:
        raise EditConflict(post=current, revision=current.revisions.first())
    return current


def record_revision(
    *,
    post: Post,
    author: User | None,
    previous: Post | None = None,
    kind: str = PostRevision.Kind.SAVE,
    restored_from: int | None = None,
) -> PostRevision:
    """Keep the post's words as this save left them; return the revision.

    previous, the row as it was before the save, is kept first when the post has no revision
    yet (posts written before revisions existed), so the first change can be compared. Only
    the newest KEEP_REVISIONS are kept.
    """
    if previous is not None and not post.revisions.exists():
        PostRevision.objects.create(
            post=post,
            version=previous.version,
            title=previous.title,
            subtitle=previous.subtitle,
            body=previous.body,
            author=None,
        )
    revision = PostRevision.objects.create(
        post=post,
        version=post.version,
        kind=kind,
        restored_from=restored_from,
        title=post.title,
        subtitle=post.subtitle,
        body=post.body,
        author=author,
    )
    old = list(post.revisions.values_list("pk", flat=True)[KEEP_REVISIONS:])
    if old:
        PostRevision.objects.filter(pk__in=old).delete()
    return revision


@transaction.atomic
def restore_revision(
    *, post: Post, revision: PostRevision, base_version: int, user: User
) -> PostRevision:
    """Put revision's words back into the post, as a new version; return the new revision.

    Raises EditConflict when the post changed after the editor opened the revisions.
    """
    if revision.post_id != post.pk:
        raise ValueError("The revision belongs to another post.")
    current = lock_for_edit(post_id=post.pk, base_version=base_version)
    before = copy.copy(current)
    current.title = revision.title
    current.subtitle = revision.subtitle
    current.body = revision.body
    current.version += 1
    current.save(update_fields=["title", "subtitle", "body", "version", "updated_at"])
    PostDraft.objects.filter(post=current, editor=user).delete()
    return record_revision(
        post=current,
        author=user,
        previous=before,
        kind=PostRevision.Kind.RESTORE,
        restored_from=revision.version,
    )


@transaction.atomic
def autosave_post(
    *, post: Post, editor: User, base_version: int, title: str, subtitle: str, body: str
) -> PostDraft:
    """Keep editor's unsaved words for post as their draft copy; return it.

    The post itself is not touched, so readers of a published post see nothing until the
    editor saves. Raises EditConflict when someone saved the post since base_version.
    """
    current = Post.objects.get(pk=post.pk)
    if current.version != base_version:
        raise EditConflict(post=current, revision=current.revisions.first())
    draft, _created = PostDraft.objects.update_or_create(
        post=current,
        editor=editor,
        defaults={
            "base_version": base_version,
            "title": title,
            "subtitle": subtitle,
            "body": sanitize_body(body),
        },
    )
    return draft


def discard_draft(*, post: Post, editor: User) -> bool:
    """Forget editor's autosaved copy of post; return whether there was one."""
    deleted, _rows = PostDraft.objects.filter(post=post, editor=editor).delete()
    return bool(deleted)


def store_body_image(*, upload, uploaded_by: User | None) -> BodyImage:
    """Check an uploaded image, write its WebP renditions and record them; return the record.

    The checks are the covers' (accounts/images.py): a file that is not an image, too large or
    with too many pixels raises ValidationError before anything is written. If recording fails,
    the files already written are deleted, so a refused or failed upload leaves nothing behind.
    """
    clean = clean_image(upload)
    key = secrets.token_hex(8)
    renditions = make_renditions(clean.content, stem=key, directory=BODY_IMAGE_DIR)
    try:
        with transaction.atomic():
            return BodyImage.objects.create(
                key=key,
                width=clean.width,
                height=clean.height,
                renditions=renditions,
                uploaded_by=uploaded_by,
            )
    except Exception:
        delete_renditions(renditions)
        raise
