"""Background work for comments: thin wrappers that load by id and call the service."""

from django_tasks import task

from comments.models import Comment


@task()
def send_reply_notification(comment_id: int) -> bool:
    """Email the parent comment's author about reply comment_id, if they asked for it."""
    from comments.services import send_reply_notification as send

    comment = (
        Comment.objects.select_related("post", "author", "parent__author")
        .filter(pk=comment_id)
        .first()
    )
    if comment is None:  # deleted before the worker got to it
        return False
    return send(comment=comment)


@task()
def send_review_digests() -> int:
    """Email the editors who asked for it what waits for review (at most one an hour each)."""
    from comments.services import send_review_digests as send

    return send()
