"""What polls stores about a reader, for their data export (see accounts.personal_data)."""

from typing import Any

from accounts.models import User
from accounts.personal_data import absolute_url, when
from polls.models import Vote


def poll_votes(user: User) -> list[dict[str, Any]]:
    return [
        {
            "post": vote.poll.post.title,
            "url": absolute_url(vote.poll.get_absolute_url()),
            "question": vote.poll.question,
            "choice": vote.choice.text,
            "voted": when(vote.created_at),
            "changed": when(vote.updated_at),
        }
        for vote in Vote.objects.filter(user=user)
        .select_related("poll__post", "choice")
        .order_by("created_at", "pk")
    ]
