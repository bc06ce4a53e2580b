"""What comments stores about a reader, for their data export (see accounts.personal_data)."""

from typing import Any

from accounts.models import User
from accounts.personal_data import absolute_url, when
from comments.models import Comment, Commenter, CommentLike, CommentReport


def comments(user: User) -> list[dict[str, Any]]:
    return [
        {
            "id": comment.pk,
            "post": comment.post.title,
            "url": absolute_url(comment.get_absolute_url()),
            "in_reply_to": comment.parent_id,
            "text": comment.body,
            "status": comment.status,
            "posted": when(comment.created_at),
            "edited": when(comment.edited_at),
            "deleted": when(comment.deleted_at),
        }
        for comment in Comment.objects.filter(author=user)
        .select_related("post")
        .order_by("created_at", "pk")
    ]


def comment_likes(user: User) -> list[dict[str, Any]]:
    return [
        {"comment": like.comment_id, "liked": when(like.created_at)}
        for like in CommentLike.objects.filter(user=user).order_by("created_at", "pk")
    ]


def comment_reports(user: User) -> list[dict[str, Any]]:
    return [
        {
            "comment": report.comment_id,
            "reason": report.reason,
            "details": report.details,
            "reported": when(report.created_at),
        }
        for report in CommentReport.objects.filter(reporter=user).order_by("created_at", "pk")
    ]


def discussion(user: User) -> dict[str, Any] | None:
    commenter = Commenter.objects.filter(user=user).first()
    if commenter is None:
        return None
    return {
        "reply_emails": commenter.notify_replies,
        "banned": commenter.is_banned,
        "ban_reason": commenter.ban_reason,
        "trusted": commenter.is_trusted,
    }
