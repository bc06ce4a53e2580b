"""Reader workflows: subscribing, confirming, changing the subscription, leaving, and the
subscriber list's import. Confirmations are announced with accounts.signals; the emails
themselves belong to the newsletter app."""

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import signing
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import addresses, referrals, subscribe_options
from accounts.csvfiles import csv_safe
from accounts.models import EditorNotice, Subscription, User, normalize_email
from accounts.signals import subscription_confirmed, subscription_stopped

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "accounts.unsubscribe"
# Statuses a reader or the mail system chose; nothing but the reader's own confirmation undoes them.
STOPPED = {
    Subscription.Status.UNSUBSCRIBED,
    Subscription.Status.BOUNCED,
    Subscription.Status.COMPLAINED,
}


@transaction.atomic
def subscribe_reader(
    *,
    email: str,
    source: str = "",
    lists: list[str] | None = None,
    referral: str = "",
    network: str = "",
) -> User:
    """Return the reader for email, creating the account and a pending subscription if new.

    `lists` are the lists the reader ticked on the form (accounts.subscribe_options; None: the
    form offered no choice, so the defaults). A reader who unsubscribed earlier and subscribes
    again goes back to pending until they prove the address again with the emailed code.
    Bounced and complained addresses stay as they are. `referral` is the code of the referral
    link they came by and `network` their network's hash (accounts.referrals).
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
    # Whoever typed the address has not proved it yet: lists the reader left stay left.
    subscribe_options.apply(user=user, chosen=lists, source=source, new=created, proven=False)
    if referral:
        referrals.record_referral(referred=user, code=referral, network=network)
    return user


def subscribe_and_send_code(
    *,
    email: str,
    source: str,
    code: str,
    lists: list[str] | None = None,
    referral: str = "",
    network: str = "",
) -> User:
    """The work subscribing leaves for after the answer (accounts.logincodes): make or find the
    reader, then email them the login code their browser is waiting for.

    The reader was already told the code is on its way, so a database that is away for a
    moment (a restart, a failover) is waited for rather than the work dropped.
    """
    user = until_the_database_answers(
        lambda: subscribe_reader(
            email=email, source=source, lists=lists, referral=referral, network=network
        )
    )
    send_login_code(email=user.email, code=code)
    return user


DATABASE_WAIT_SECONDS = 60


def until_the_database_answers(work, *, seconds: float = DATABASE_WAIT_SECONDS):
    """Return work(), trying again on a fresh connection while PostgreSQL does not answer, for
    up to `seconds`. Only outside a transaction (a task's own work): inside one, the error is
    the caller's. work must be safe to repeat."""
    deadline = time.monotonic() + seconds
    delay = 0.2
    while True:
        try:
            return work()
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            logger.warning("The database did not answer; trying again in %.1f s.", delay)
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 5)


def send_login_code(*, email: str, code: str) -> None:
    """Email a one-time login code with allauth's template, outside a request as well."""
    from allauth.account.adapter import get_adapter

    adapter = get_adapter()
    if addresses.problem(email):
        logger.warning("Login code not sent: the stored address breaks the address rule.")
        return
    context = {
        "email": email,
        "code": code,
        "reauthentication": False,
    }
    adapter.render_mail("account/email/login_code", email, context).send()


@transaction.atomic
def confirm_subscription(*, user: User) -> Subscription | None:
    """Activate a pending subscription once the reader proved their email; return it.

    Sends accounts.signals.subscription_confirmed on commit (the newsletter welcomes a first
    confirmation; a returning reader is not welcomed twice).
    """
    subscription = Subscription.objects.select_for_update().filter(user=user).first()
    if subscription is None or subscription.status != Subscription.Status.PENDING:
        return subscription
    first_time = subscription.confirmed_at is None
    subscription.status = Subscription.Status.ACTIVE
    subscription.confirmed_at = timezone.now()
    subscription.unsubscribed_at = None
    subscription.status_reason = ""
    subscription.save(update_fields=["status", "confirmed_at", "unsubscribed_at", "status_reason"])
    _announce_confirmed(subscription, user=user, first_time=first_time)
    return subscription


def _announce_confirmed(subscription: Subscription, *, user: User, first_time: bool) -> None:
    """Send subscription_confirmed once the current transaction commits."""
    transaction.on_commit(
        lambda: subscription_confirmed.send(
            sender=Subscription,
            subscription=subscription,
            user=user,
            first_time=first_time,
        )
    )


@transaction.atomic
def set_newsletter(*, user: User, receive: bool, source: str = "account") -> Subscription:
    """Turn the newsletter on or off for a logged-in reader.

    Turning it on needs a verified address (double opt-in): for a reader who never proved theirs
    the subscription waits as pending until they do (the email_confirmed signal activates it).
    """
    subscription, _ = Subscription.objects.select_for_update().get_or_create(
        user=user, defaults={"source": source}
    )
    now = timezone.now()
    if receive and not user.has_verified_email:
        if subscription.status == Subscription.Status.UNSUBSCRIBED:
            subscription.status = Subscription.Status.PENDING
            subscription.unsubscribed_at = None
            subscription.status_reason = ""
            subscription.save()
        return subscription
    if receive and subscription.status in {
        Subscription.Status.PENDING,
        Subscription.Status.UNSUBSCRIBED,
    }:
        _announce_confirmed(subscription, user=user, first_time=subscription.confirmed_at is None)
        subscription.status = Subscription.Status.ACTIVE
        subscription.confirmed_at = subscription.confirmed_at or now
        subscription.unsubscribed_at = None
        subscription.status_reason = ""
    elif not receive and subscription.status != Subscription.Status.UNSUBSCRIBED:
        stopped = subscription.status == Subscription.Status.ACTIVE
        subscription.status = Subscription.Status.UNSUBSCRIBED
        subscription.unsubscribed_at = now
        subscription.status_reason = "Unsubscribed on the account page."
        if stopped:
            _announce_stopped(subscription, user=user)
    subscription.save()
    return subscription


# --- One-click unsubscribe ---


def unsubscribe_token(user_id: int) -> str:
    """Return the signed token of a reader's unsubscribe link. It never expires: an old email's
    link must keep working (RFC 8058), and it can do nothing but unsubscribe that reader."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(user_id))


def user_id_from_unsubscribe_token(token: str) -> int | None:
    """Return the reader id a token was signed for, or None if it is forged or altered."""
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def unsubscribe_url(user_id: int) -> str:
    """Return the absolute one-click unsubscribe URL for a reader."""
    path = reverse("accounts:unsubscribe", kwargs={"token": unsubscribe_token(user_id)})
    return f"{settings.SITE_URL}{path}"


@transaction.atomic
def unsubscribe_reader(*, user: User, reason: str) -> Subscription | None:
    """Stop the newsletter for a reader; return the subscription, or None if there is none.

    Idempotent: a second click changes nothing. Bounced and complained stay as they are (they are
    already not mailed, and keep the more useful reason). The account is never deleted.
    """
    subscription = Subscription.objects.select_for_update().filter(user=user).first()
    if subscription is None or subscription.status in STOPPED:
        return subscription
    was_active = subscription.status == Subscription.Status.ACTIVE
    subscription.status = Subscription.Status.UNSUBSCRIBED
    subscription.unsubscribed_at = timezone.now()
    subscription.status_reason = reason[:300]
    subscription.save(update_fields=["status", "unsubscribed_at", "status_reason"])
    if was_active:
        _announce_stopped(subscription, user=user)
    return subscription


def _announce_stopped(subscription: Subscription, *, user: User) -> None:
    """Send subscription_stopped once the current transaction commits."""
    transaction.on_commit(
        lambda: subscription_stopped.send(sender=Subscription, subscription=subscription, user=user)
    )


@transaction.atomic
def resubscribe_reader(*, user: User) -> Subscription | None:
    """Undo an unsubscribe from the link in one of our emails; return the subscription.

    The link was mailed to this address, so following it is proof enough, but only for a few
    days after the unsubscribe (Subscription.RESUBSCRIBE_WINDOW): the link never expires and
    emails get forwarded. Later, and for bounced and complained addresses, the reader subscribes
    again with a code instead.
    """
    subscription = Subscription.objects.select_for_update().filter(user=user).first()
    if subscription is None or not subscription.can_resubscribe_by_link():
        return subscription
    subscription.status = Subscription.Status.ACTIVE
    subscription.confirmed_at = subscription.confirmed_at or timezone.now()
    subscription.unsubscribed_at = None
    subscription.status_reason = "Resubscribed from the unsubscribe page."
    subscription.save(update_fields=["status", "confirmed_at", "unsubscribed_at", "status_reason"])
    return subscription


def mark_bounced(*, user_id: int, reason: str, status: str = Subscription.Status.BOUNCED) -> None:
    """Stop mailing an address the mail system rejected for good (bounced or complained)."""
    Subscription.objects.filter(user_id=user_id).exclude(status=status).update(
        status=status, status_reason=reason[:300]
    )


@transaction.atomic
def delete_account(*, user: User) -> None:
    """Delete the reader and their personal data.

    Gone with the account row: email addresses, subscription, newsletter deliveries, discussion
    settings, thumbs up, authenticators, the avatar file and every session still logged in as
    them (on other devices too). Their comments stay, shown as from a deleted reader; their
    votes, likes and reports stay without a name, so threads keep their shape and counts and
    poll results do not change: the other apps' foreign keys to the user are SET_NULL for that.
    """
    user_id = user.pk
    avatar_name = user.avatar.name if user.avatar else ""
    user.delete()
    transaction.on_commit(lambda: _purge_after_delete(user_id=user_id, avatar_name=avatar_name))


def _purge_after_delete(*, user_id: int, avatar_name: str) -> None:
    from accounts.tasks import purge_sessions as purge_sessions_task

    if avatar_name:
        default_storage.delete(avatar_name)
    purge_sessions_task.enqueue(user_id=user_id)


def purge_sessions(*, user_id: int) -> int:
    """Delete every stored session logged in as user_id; return how many.

    Sessions keep their reader's id beside the data (indexed), so that part is one DELETE. A
    session carried over from before that column, and not saved since, has no id there: those
    few are read one by one. It runs as a task so the reader does not wait; the sessions stop
    working the moment the account is gone anyway (their user no longer exists), and this
    removes what they still hold, such as the email address allauth records for the login.
    """
    from accounts.models import Session

    count, _by_model = Session.objects.filter(user_id=user_id).delete()
    doomed = []
    unmarked = Session.objects.live().filter(user_id__isnull=True)
    for session in unmarked.only("session_key", "session_data").iterator(chunk_size=2000):
        if session.get_decoded().get(SESSION_KEY) == str(user_id):
            doomed.append(session.session_key)
    if doomed:
        count += Session.objects.filter(session_key__in=doomed).delete()[0]
    return count


EXPORT_COLUMNS = [
    "email",
    "status",
    "source",
    "created",
    "confirmed",
    "unsubscribed",
    "reason",
    "name",
]
EXPORT_CHUNK = 2000


@dataclass(frozen=True)
class ExportColumn:
    """A column an app above accounts adds to the subscribers CSV: its header, and a function
    that returns the cell of each reader of one chunk ({user id: text}) in a fixed number of
    queries, so the export costs the same few queries per chunk however long the list is."""

    header: str
    cells: Callable[[list[int]], dict[int, str]]


def export_rows(queryset, *, columns: Iterable[ExportColumn] = ()) -> Iterable[list[str]]:
    """Yield the header and one row per subscription, reading the table in chunks.

    Every cell is made safe for spreadsheets (a name like "=HYPERLINK(…)" stays text)."""
    columns = list(columns)
    yield EXPORT_COLUMNS + [column.header for column in columns]
    rows = queryset.order_by("pk").values_list(
        "user_id",
        "user__email",
        "status",
        "source",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "status_reason",
        "user__display_name",
    )
    chunk: list[tuple] = []

    def flush(chunk):
        user_ids = [row[0] for row in chunk]
        extra = [column.cells(user_ids) for column in columns]
        for user_id, *values in chunk:
            cells = [
                value.isoformat() if hasattr(value, "isoformat") else value for value in values
            ]
            cells += [found.get(user_id, "") for found in extra]
            yield [csv_safe(cell) for cell in cells]

    for row in rows.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(row)
        if len(chunk) == EXPORT_CHUNK:
            yield from flush(chunk)
            chunk = []
    if chunk:
        yield from flush(chunk)


# --- Editors' notices ---------------------------------------------------------------------------

EDITOR_NOTICE_CHOICES = {"review_queue": "notify_review_queue", "sends": "notify_sends"}


def editors_to_notify(*, about: str, permission: str) -> list[User]:
    """Return the active staff who asked for notices about `about` ("review_queue" or "sends")
    and hold `permission` ("app_label.codename"), in id order."""
    opted_in = User.objects.filter(
        is_active=True, is_staff=True, **{EDITOR_NOTICE_CHOICES[about]: True}
    ).order_by("pk")
    return [editor for editor in opted_in if editor.has_perm(permission)]


def prune_editor_notices(*, now: datetime | None = None) -> int:
    """Delete the editor notices older than EDITOR_NOTICES_KEEP_DAYS; return how many.

    A notice only stops the same email going twice while its occasion can still recur: an
    hour for a review digest, a send's retries, an export's file until it expires (its key
    names an id that is never used again). Past that the row is history nobody reads."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EDITOR_NOTICES_KEEP_DAYS)
    deleted, _by_model = EditorNotice.objects.filter(sent_at__lt=cutoff).delete()
    return deleted


def send_editor_notice(*, editor: User, key: str, build: Callable[[], EmailMessage]) -> bool:
    """Send the email build() returns to editor unless a notice with this key already went to
    them; return True if this call sent it.

    Recording the notice and sending share one transaction. A second worker's insert of the same
    (editor, key) waits on the unique index until this one commits, then finds the row and sends
    nothing; if sending fails, the row goes with the rollback and a later run may try again.
    """
    with transaction.atomic():
        _notice, created = EditorNotice.objects.get_or_create(editor=editor, key=key)
        if not created:
            return False
        build().send()
    # Notices pile up only as they are sent, so sending one clears the old ones: no site that
    # sends notices depends on a cron line to keep the table small.
    prune_editor_notices()
    return True
