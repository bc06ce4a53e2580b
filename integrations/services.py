"""Integration workflows: API keys, subscriptions asked for through the API, and webhooks."""

from datetime import timedelta

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import Subscription, User
from integrations.models import ApiKey

CONFIRM_SALT = "integrations.confirm-subscription"
CONFIRM_MAX_AGE = timedelta(days=7)


@transaction.atomic
def create_api_key(*, key: ApiKey, created_by: User | None) -> str:
    """Save a new API key and return it in full: the only time anyone sees it."""
    plain = key.issue()
    key.created_by = created_by
    key.save()
    return plain


def revoke_api_keys(*, keys) -> int:
    """Revoke keys still live; return how many. A revoked key never works again."""
    return keys.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def note_key_used(*, key: ApiKey) -> None:
    """Record that key was used, at most once a minute (no write on every call)."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)


# --- Subscriptions asked for through the API ---


def confirm_token(user_id: int) -> str:
    """Return the signed token of an API subscription's confirmation link."""
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign(str(user_id))


def user_from_confirm_token(token: str) -> User | None:
    """Return the reader a confirmation token names, or None if forged or older than a week."""
    try:
        value = signing.TimestampSigner(salt=CONFIRM_SALT).unsign(token, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return None
    return User.objects.filter(pk=int(value)).first() if value.isdigit() else None


def request_subscription(*, email: str, source: str) -> None:
    """Make a pending subscription for email and mail the reader a link to confirm it.

    accounts' subscribe service makes or finds the account (never active until the reader
    confirms; bounced and complained addresses stay as they are). Only a pending subscription
    gets the email: an active reader is not bothered, a stopped one is not mailed.
    """
    user = accounts_services.subscribe_reader(email=email, source=source)
    subscription = Subscription.objects.filter(user=user).first()
    if subscription is None or subscription.status != Subscription.Status.PENDING:
        return
    path = reverse("integrations:confirm-subscription", kwargs={"token": confirm_token(user.pk)})
    context = {
        "email": user.email,
        "confirm_url": f"{settings.SITE_URL}{path}",
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
    }
    get_adapter().render_mail("integrations/email/confirm_subscription", user.email, context).send()


@transaction.atomic
def confirm_requested_subscription(*, user: User) -> Subscription | None:
    """The reader followed the emailed link: the address is proved; activate the subscription.

    The link went to the inbox, so following it proves the address as the one-time code does
    (the newsletter's double opt-in); accounts' confirm_subscription does the rest.
    """
    EmailAddress.objects.filter(user=user, email=user.email).update(verified=True)
    return accounts_services.confirm_subscription(user=user)
