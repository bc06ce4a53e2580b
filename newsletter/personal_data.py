"""What the newsletter stores about a reader, for their data export (see accounts.personal_data)."""

from typing import Any

from accounts.models import User
from accounts.personal_data import when
from newsletter.models import Delivery


def newsletter_emails(user: User) -> list[dict[str, Any]]:
    return [
        {
            "post": delivery.send.post.title,
            "status": delivery.status,
            "sent": when(delivery.sent_at),
        }
        for delivery in Delivery.objects.filter(user=user)
        .select_related("send__post")
        .order_by("pk")
    ]


def newsletters(user: User) -> dict[str, Any]:
    """The reader's newsletters, and the tags and note editors keep about them."""
    from newsletter.models import Membership, SubscriberNote

    note = SubscriberNote.objects.filter(user=user).first()
    return {
        "memberships": [
            {
                "newsletter": membership.newsletter.name,
                "status": membership.status,
                "source": membership.source,
                "joined": when(membership.created_at),
                "left": when(membership.unsubscribed_at),
            }
            for membership in Membership.objects.filter(user=user)
            .select_related("newsletter")
            .order_by("pk")
        ],
        "tags": sorted(user.subscriber_tags.values_list("name", flat=True)),
        "editors_note": note.text if note else "",
    }
