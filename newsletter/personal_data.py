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
