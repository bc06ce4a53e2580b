"""What posts stores about a reader, for their data export (see accounts.personal_data)."""

from typing import Any

from accounts.models import User
from accounts.personal_data import when
from posts.models import ThumbsUp


def thumbs_up(user: User) -> list[dict[str, Any]]:
    return [
        {"post": thumbs.post.title, "given": when(thumbs.created_at)}
        for thumbs in ThumbsUp.objects.filter(user=user)
        .select_related("post")
        .order_by("created_at", "pk")
    ]
