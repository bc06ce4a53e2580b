"""Reads about one reader that span the apps: the data export a reader downloads."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User

EXPORT_FORMAT_VERSION = 1


def _when(value) -> str | None:
    return value.isoformat() if value else None


def _url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def reader_data(*, user: User) -> dict[str, Any]:
    """Return everything the site stores about user, as JSON-safe data.

    Account, email addresses, newsletter subscription and the emails sent, poll votes, comments,
    likes, reports, thumbs up and discussion settings. Secrets (password hash, authenticator
    keys) are left out: they are not readable data, only whether they exist.
    """
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    from comments.models import Comment, Commenter, CommentLike, CommentReport
    from polls.models import Vote
    from posts.models import ThumbsUp

    subscription = getattr(user, "subscription", None)
    commenter = Commenter.objects.filter(user=user).first()
    return {
        "format": "futureforward-reader-data",
        "version": EXPORT_FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "site": settings.SITE_URL,
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "public_name": user.public_name,
            "bio": user.bio,
            "avatar": _url(user.avatar.url) if user.avatar else None,
            "joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
            "is_editor": user.is_staff,
            "has_password": user.has_usable_password(),
            "two_factor_methods": sorted(
                Authenticator.objects.filter(user=user).values_list("type", flat=True)
            ),
        },
        "email_addresses": [
            {"email": address.email, "verified": address.verified, "primary": address.primary}
            for address in EmailAddress.objects.filter(user=user).order_by("pk")
        ],
        "subscription": (
            {
                "status": subscription.status,
                "source": subscription.source,
                "created": _when(subscription.created_at),
                "confirmed": _when(subscription.confirmed_at),
                "unsubscribed": _when(subscription.unsubscribed_at),
                "reason": subscription.status_reason,
            }
            if subscription
            else None
        ),
        "newsletter_emails": [
            {
                "post": delivery.send.post.title,
                "status": delivery.status,
                "sent": _when(delivery.sent_at),
            }
            for delivery in user.deliveries.select_related("send__post").order_by("pk")
        ],
        "poll_votes": [
            {
                "post": vote.poll.post.title,
                "url": _url(vote.poll.get_absolute_url()),
                "question": vote.poll.question,
                "choice": vote.choice.text,
                "voted": _when(vote.created_at),
                "changed": _when(vote.updated_at),
            }
            for vote in Vote.objects.filter(user=user)
            .select_related("poll__post", "choice")
            .order_by("created_at", "pk")
        ],
        "comments": [
            {
                "id": comment.pk,
                "post": comment.post.title,
                "url": _url(comment.get_absolute_url()),
                "in_reply_to": comment.parent_id,
                "text": comment.body,
                "status": comment.status,
                "posted": _when(comment.created_at),
                "edited": _when(comment.edited_at),
                "deleted": _when(comment.deleted_at),
            }
            for comment in Comment.objects.filter(author=user)
            .select_related("post")
            .order_by("created_at", "pk")
        ],
        "comment_likes": [
            {"comment": like.comment_id, "liked": _when(like.created_at)}
            for like in CommentLike.objects.filter(user=user).order_by("created_at", "pk")
        ],
        "comment_reports": [
            {
                "comment": report.comment_id,
                "reason": report.reason,
                "details": report.details,
                "reported": _when(report.created_at),
            }
            for report in CommentReport.objects.filter(reporter=user).order_by("created_at", "pk")
        ],
        "thumbs_up": [
            {"post": thumbs.post.title, "given": _when(thumbs.created_at)}
            for thumbs in ThumbsUp.objects.filter(user=user)
            .select_related("post")
            .order_by("created_at", "pk")
        ],
        "discussion": (
            {
                "reply_emails": commenter.notify_replies,
                "banned": commenter.is_banned,
                "ban_reason": commenter.ban_reason,
                "trusted": commenter.is_trusted,
            }
            if commenter
            else None
        ),
    }
