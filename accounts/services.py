"""Reader workflows: subscribing, confirming, changing the subscription, leaving."""

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Subscription, User, normalize_email


@transaction.atomic
def subscribe_reader(*, email: str, source: str = "") -> User:
    """Return the reader for email, creating the account and a pending subscription if new.

    A reader who unsubscribed earlier and subscribes again goes back to pending until they prove
    the address again with the emailed code. Bounced and complained addresses stay as they are.
    """
    email = normalize_email(email)
    user = User.objects.filter(email=email).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(email=email)
        except IntegrityError:
            # Someone subscribed with the same address a moment ago: use that account.
            user = User.objects.get(email=email)
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"primary": True, "verified": False}
    )
    subscription, created = Subscription.objects.select_for_update().get_or_create(
        user=user, defaults={"source": source[:100]}
    )
    if not created and subscription.status == Subscription.Status.UNSUBSCRIBED:
        subscription.status = Subscription.Status.PENDING
        subscription.source = source[:100] or subscription.source
        subscription.save(update_fields=["status", "source"])
    return user


@transaction.atomic
def confirm_subscription(*, user: User) -> Subscription | None:
    """Activate a pending subscription once the reader proved their email; return it."""
    subscription = Subscription.objects.select_for_update().filter(user=user).first()
    if subscription is None or subscription.status != Subscription.Status.PENDING:
        return subscription
    subscription.status = Subscription.Status.ACTIVE
    subscription.confirmed_at = timezone.now()
    subscription.save(update_fields=["status", "confirmed_at"])
    return subscription


@transaction.atomic
def set_newsletter(*, user: User, receive: bool, source: str = "account") -> Subscription:
    """Turn the newsletter on or off for a logged-in (so already verified) reader."""
    subscription, _ = Subscription.objects.select_for_update().get_or_create(
        user=user, defaults={"source": source}
    )
    now = timezone.now()
    if receive and subscription.status in {
        Subscription.Status.PENDING,
        Subscription.Status.UNSUBSCRIBED,
    }:
        subscription.status = Subscription.Status.ACTIVE
        subscription.confirmed_at = subscription.confirmed_at or now
        subscription.unsubscribed_at = None
    elif not receive and subscription.status != Subscription.Status.UNSUBSCRIBED:
        subscription.status = Subscription.Status.UNSUBSCRIBED
        subscription.unsubscribed_at = now
    subscription.save()
    return subscription


@transaction.atomic
def delete_account(*, user: User) -> None:
    """Delete the reader and their personal data.

    Their comments stay, shown as from a deleted reader, and their votes stay without a name, so
    threads keep their shape and poll results do not change: the other apps' foreign keys to the
    user are SET_NULL for that reason.
    """
    user.delete()
