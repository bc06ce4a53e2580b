"""The signed personal links of every newsletter email: "Manage your subscription" (the
preference centre) and the one-click unsubscribe that leaves one newsletter.

Both are django.core.signing values with a salt of their own, so a token made for one purpose
(or by accounts' unsubscribe link) is refused by the other. They never expire: an old email's
links must keep working, and all they can do is change that one reader's lists or name.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

MANAGE_SALT = "newsletter.manage"
LEAVE_SALT = "newsletter.leave"


def manage_token(user_id: int) -> str:
    """Return the signed token of a reader's preference centre."""
    return signing.Signer(salt=MANAGE_SALT).sign(str(user_id))


def user_id_from_manage_token(token: str) -> int | None:
    """Return the reader id a preference token was signed for, or None if forged or altered."""
    try:
        value = signing.Signer(salt=MANAGE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def manage_url(user_id: int) -> str:
    """Return the absolute URL of a reader's preference centre."""
    path = reverse("newsletter:manage", kwargs={"token": manage_token(user_id)})
    return f"{settings.SITE_URL}{path}"


def leave_token(user_id: int, newsletter_id: int) -> str:
    """Return the signed token that takes a reader off one newsletter."""
    return signing.Signer(salt=LEAVE_SALT).sign(f"{user_id}.{newsletter_id}")


def ids_from_leave_token(token: str) -> tuple[int, int] | None:
    """Return (reader id, newsletter id) of a leave token, or None if forged or altered."""
    try:
        value = signing.Signer(salt=LEAVE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    user_id, _, newsletter_id = value.partition(".")
    if not (user_id.isdigit() and newsletter_id.isdigit()):
        return None
    return int(user_id), int(newsletter_id)


def leave_url(user_id: int, newsletter_id: int) -> str:
    """Return the absolute one-click URL that takes a reader off one newsletter."""
    path = reverse("newsletter:leave", kwargs={"token": leave_token(user_id, newsletter_id)})
    return f"{settings.SITE_URL}{path}"
