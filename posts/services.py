"""Post workflows: publishing, unpublishing and the thumbs up.

Lock order (the one rule of comments/services.py): a writer locks the rows it relies on before
it writes anything, and the post's page version comes last, moved on by the triggers at the end
of each writing statement. A thumbs up is one statement (its row, then the version), so giving
and taking one back at the same moment take turns on the row and never wait in a circle.
"""

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.images import clean_image
from accounts.models import User
from posts.images import BODY_IMAGE_DIR, delete_renditions, make_renditions
from posts.models import BodyImage, Post, ThumbsUp
from posts.signals import post_published


@transaction.atomic
def publish_post(*, post: Post, at: datetime | None = None) -> Post:
    """Publish post now, or schedule it for `at`; return it.

    A post that already has a publish time in the past keeps it, so publishing again never
    moves a post up the home page.
    """
    now = timezone.now()
    if at is not None:
        post.published_at = at
    elif post.published_at is None or post.published_at > now:
        post.published_at = now
    post.status = Post.Status.SCHEDULED if post.published_at > now else Post.Status.PUBLISHED
    post.save(update_fields=["status", "published_at", "updated_at"])
    if post.status == Post.Status.PUBLISHED:
        transaction.on_commit(lambda: post_published.send(sender=Post, post=post))
    return post


@transaction.atomic
def unpublish_post(*, post: Post) -> Post:
    """Take post back to draft: readers no longer see it; staff still can."""
    post.status = Post.Status.DRAFT
    post.save(update_fields=["status", "updated_at"])
    return post


@transaction.atomic
def set_thumbs_up(*, post: Post, user: User, given: bool) -> bool:
    """Give or take back user's thumbs up on post; return whether it is given now.

    Safe under concurrency and repetition: the insert skips an existing row (the database's
    unique constraint decides), and deleting a missing row does nothing.
    """
    if given:
        ThumbsUp.objects.bulk_create([ThumbsUp(post=post, user=user)], ignore_conflicts=True)
    else:
        ThumbsUp.objects.filter(post=post, user=user).delete()
    return given


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
