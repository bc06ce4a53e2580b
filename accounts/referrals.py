"""Referrals: each reader's personal link, the new readers it brings, and when they count.

A referral is recorded when someone subscribes through a link (subscribe_reader), and counts
once, when that reader confirms their address (the subscription_confirmed receiver calls
credit_referral). It does not count for the referrer themselves, nor while it is held as one
of a burst from one network; editors approve or revoke held ones in the admin. Each credit is
announced with accounts.signals.referral_counted, which the newsletter uses for its milestone
rewards.
"""

import base64
import ipaddress
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import Referral, Subscription, User, normalize_email
from accounts.signals import referral_counted

# The session key /r/<code>/ remembers the referrer's code under.
SESSION_KEY = "referral_code"
# More than this many signups through one referrer from one network within BURST_WINDOW are
# held for an editor.
BURST_LIMIT = 3
BURST_WINDOW = timedelta(hours=1)
CODE_SALT = "accounts.referral.code"
CODE_SIGNATURE_LENGTH = 10  # URL-safe base64 characters: 60 bits


def _signature(user_id: int, secret) -> str:
    digest = salted_hmac(CODE_SALT, str(user_id), secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode()[:CODE_SIGNATURE_LENGTH]


def code_for(user: User) -> str:
    """Return the reader's referral code: their id and a keyed signature of it.

    Signed rather than stored, like the unsubscribe links: showing a link (a page view, each
    email of a send) writes nothing and costs no query, and a code cannot be guessed or
    altered into another reader's. Codes made before a SECRET_KEY rotation keep working while
    the old key is in SECRET_KEY_FALLBACKS.
    """
    return f"{_base36(user.pk)}-{_signature(user.pk, settings.SECRET_KEY)}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def referral_url(user: User) -> str:
    """Return the absolute URL of the reader's personal referral link."""
    return f"{settings.SITE_URL}{reverse('accounts:referral', kwargs={'code': code_for(user)})}"


def referrer_for_code(code: str) -> User | None:
    """Return the active reader a code belongs to, or None for a forged or altered code."""
    head, _dash, signature = (code or "").partition("-")
    if (
        not head
        or len(code) > 40
        or not all(c in "0123456789abcdefghijklmnopqrstuvwxyz" for c in head)
    ):
        return None
    user_id = int(head, 36)
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(constant_time_compare(signature, _signature(user_id, key)) for key in keys):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def network_bucket(ip: str) -> str:
    """Return a keyed hash of the network an address belongs to (IPv4 /24, IPv6 /64).

    Enough to tell that several signups came from one place, without storing where that is.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 64
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return salted_hmac("accounts.referral.network", str(network)).hexdigest()[:32]


def same_person(a: str, b: str) -> bool:
    """True if two addresses are the same mailbox: equal once normalised, ignoring a +tag."""

    def key(email: str) -> str:
        local, _at, domain = normalize_email(email).partition("@")
        return f"{local.split('+', 1)[0]}@{domain}"

    return key(a) == key(b)


def record_referral(*, referred: User, code: str, network: str = "") -> Referral | None:
    """Note that referred subscribed through the link with code; return the referral, or None
    when it cannot count at all: an unknown code, the referrer themselves, or a reader who was
    subscribed before (not new) or was already referred."""
    referrer = referrer_for_code(code)
    if (
        referrer is None
        or referrer.pk == referred.pk
        or same_person(referrer.email, referred.email)
    ):
        return None
    if Subscription.objects.filter(user=referred, confirmed_at__isnull=False).exists():
        return None
    since = timezone.now() - BURST_WINDOW
    burst = bool(network) and (
        Referral.objects.filter(referrer=referrer, network=network, created_at__gte=since).count()
        >= BURST_LIMIT
    )
    try:
        with transaction.atomic():
            referral, _created = Referral.objects.get_or_create(
                referred=referred,
                defaults={"referrer": referrer, "network": network, "held": burst},
            )
    except IntegrityError:  # the same reader's twin request recorded it a moment ago
        referral = Referral.objects.get(referred=referred)
    return referral


def credit_referral(*, referred: User) -> bool:
    """Count the referral that brought `referred`, if it may count and has not yet; return
    True if this call counted it.

    Exactly once however many confirmations arrive together: the conditional UPDATE takes the
    row's lock, and a second one waiting on it finds counted_at already set (PostgreSQL
    re-reads the row after the first commits) and changes nothing.
    """
    with transaction.atomic():
        now = timezone.now()
        updated = Referral.objects.filter(
            referred=referred, counted_at__isnull=True, held=False, revoked_at__isnull=True
        ).update(counted_at=now)
        if not updated:
            return False
        referral = Referral.objects.select_related("referrer").get(referred=referred)
        _announce_counted(referral)
    return True


def _announce_counted(referral: Referral) -> None:
    transaction.on_commit(
        lambda: referral_counted.send(
            sender=Referral, referral=referral, referrer=referral.referrer
        )
    )


@transaction.atomic
def approve_referral(*, referral: Referral) -> bool:
    """An editor lets a held referral count; it counts now if the reader has confirmed, else
    when they do. Return True if it counted now."""
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.revoked_at or not referral.held:
        return False
    referral.held = False
    referral.save(update_fields=["held"])
    confirmed = Subscription.objects.filter(
        user_id=referral.referred_id, confirmed_at__isnull=False
    ).exists()
    return confirmed and credit_referral(referred=referral.referred)


@transaction.atomic
def revoke_referral(*, referral: Referral) -> bool:
    """An editor revokes a suspicious referral: it stops counting (rewards already sent stay
    sent). Return True if it changed."""
    updated = Referral.objects.filter(pk=referral.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return bool(updated)


def referral_count(user: User) -> int:
    """How many referrals count for the reader."""
    return Referral.objects.counted().filter(referrer=user).count()
