"""The data export a reader downloads from the account page: everything the site stores about
them, as JSON-safe data.

Each app exports what it stores itself. accounts writes the account, the email addresses and
the subscription; the apps above it (posts, polls, comments, newsletter) register their own
sections from their AppConfig.ready(), so accounts imports none of them:

    from accounts.personal_data import register
    register("poll_votes", personal_data.poll_votes)

An exporter takes the user and returns JSON-safe data for its section. Sections come out in the
order they were registered, which is INSTALLED_APPS order. Secrets (password hash,
authenticator keys) are never exported: they are not readable data, only whether they exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from accounts.models import User

EXPORT_FORMAT_VERSION = 1

Exporter = Callable[[User], Any]

_sections: dict[str, Exporter] = {}


def register(name: str, exporter: Exporter) -> None:
    """Add section name to every reader's export, filled by exporter(user).

    Registering the same exporter again changes nothing; a second exporter for a name already
    taken is a mistake, refused before it can hide the first one's data.
    """
    if _sections.get(name, exporter) is not exporter:
        raise ImproperlyConfigured(f"The personal data section {name!r} is already registered.")
    _sections[name] = exporter


def sections() -> list[str]:
    """Return the names of the registered sections, in export order."""
    return list(_sections)


def when(value) -> str | None:
    """Return a date or time as ISO 8601 text, or None."""
    return value.isoformat() if value else None


def absolute_url(path: str) -> str:
    """Return path as a full URL on this site."""
    return f"{settings.SITE_URL}{path}"


def reader_data(*, user: User) -> dict[str, Any]:
    """Return everything the site stores about user, as JSON-safe data."""
    data: dict[str, Any] = {
        "format": "futureforward-reader-data",
        "version": EXPORT_FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "site": settings.SITE_URL,
    }
    for name, exporter in _sections.items():
        data[name] = exporter(user)
    return data


# --- What accounts itself stores (registered in AccountsConfig.ready) ---


def account(user: User) -> dict[str, Any]:
    from allauth.mfa.models import Authenticator

    return {
        "email": user.email,
        "display_name": user.display_name,
        "public_name": user.public_name,
        "bio": user.bio,
        "avatar": absolute_url(user.avatar.url) if user.avatar else None,
        "joined": when(user.date_joined),
        "last_login": when(user.last_login),
        "is_editor": user.is_staff,
        "has_password": user.has_usable_password(),
        "two_factor_methods": sorted(
            Authenticator.objects.filter(user=user).values_list("type", flat=True)
        ),
    }


def email_addresses(user: User) -> list[dict[str, Any]]:
    from allauth.account.models import EmailAddress

    return [
        {"email": address.email, "verified": address.verified, "primary": address.primary}
        for address in EmailAddress.objects.filter(user=user).order_by("pk")
    ]


def subscription(user: User) -> dict[str, Any] | None:
    subscription = getattr(user, "subscription", None)
    if subscription is None:
        return None
    return {
        "status": subscription.status,
        "source": subscription.source,
        "created": when(subscription.created_at),
        "confirmed": when(subscription.confirmed_at),
        "unsubscribed": when(subscription.unsubscribed_at),
        "reason": subscription.status_reason,
    }


def referrals(user: User) -> dict[str, Any]:
    """The reader's referral link and the referrals they made, without the other readers'
    addresses (their data, not this reader's)."""
    from accounts.models import Referral
    from accounts.referrals import referral_url

    made = Referral.objects.filter(referrer=user).order_by("created_at")
    return {
        "link": referral_url(user),
        "came_through_a_referral": Referral.objects.filter(referred=user).exists(),
        "made": [
            {
                "created": when(r.created_at),
                "counted": when(r.counted_at),
                "held": r.held,
                "revoked": when(r.revoked_at),
            }
            for r in made
        ],
    }
