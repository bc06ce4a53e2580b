"""The `data` of each webhook event: public facts, absolute links, no more than a receiver
needs. Subscriber events carry the address, as the endpoint's owner runs the list."""

from django.conf import settings


def _url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def post(post) -> dict:
    return {
        "id": post.pk,
        "slug": post.slug,
        "title": post.title,
        "subtitle": post.subtitle,
        "audience": post.audience,
        "published_at": post.published_at,
        "url": _url(post.get_absolute_url()),
    }


def send(send) -> dict:
    return {
        "id": send.pk,
        "post": post(send.post),
        "finished_at": send.finished_at,
        "sent": send.sent_count,
        "failed": send.failed_count,
        "bounced": send.bounced_count,
        "skipped": send.skipped_count,
    }


def subscriber(subscription, user) -> dict:
    return {
        "id": user.pk,
        "email": user.email,
        "status": subscription.status,
        "confirmed_at": subscription.confirmed_at,
        "unsubscribed_at": subscription.unsubscribed_at,
    }


def comment(comment) -> dict:
    return {
        "id": comment.pk,
        "post": {"id": comment.post.pk, "slug": comment.post.slug},
        "parent_id": comment.parent_id,
        "author_name": comment.author.public_name if comment.author else "",
        "body": comment.body,
        "created_at": comment.created_at,
        "url": _url(comment.get_absolute_url()),
    }


def poll(poll) -> dict:
    return {
        "id": poll.pk,
        "question": poll.question,
        "post": {"id": poll.post.pk, "slug": poll.post.slug},
        "closed_at": poll.closes_at,
        "results": [
            {"choice": choice.text, "votes": choice.tally}
            for choice in poll.choices.order_by("position")
        ],
        "url": _url(poll.get_absolute_url()),
    }
