"""Who gets what: readers' memberships of the newsletters, and a send's recipients.

A send to newsletter N (and optionally a segment) goes to readers who are active accounts, whose
subscription (accounts) is active and whose membership of N is subscribed. `recipients()` is
that rule as one queryset; the send page's count, the send itself and the segment preview all
use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import Subscription, User
from accounts.subscribe_options import Option
from newsletter.models import Membership, Newsletter, Segment, SubscriberTag
from newsletter.segments import conditions_q


def recipients(*, newsletter: Newsletter | int, segment: Segment | None = None) -> QuerySet[User]:
    """Return the readers a send to newsletter (or its id) and segment would go to, as one
    query."""
    members = Membership.objects.filter(
        user=OuterRef("pk"), newsletter=newsletter, status=Membership.Status.SUBSCRIBED
    )
    readers = User.objects.filter(
        Exists(members), is_active=True, subscription__status=Subscription.Status.ACTIVE
    )
    if segment is not None:
        readers = readers.filter(conditions_q(segment.conditions))
    return readers


def recipient_count(*, newsletter: Newsletter, segment: Segment | None = None) -> int:
    """Return how many readers a send to newsletter (and segment) started now would reach."""
    return recipients(newsletter=newsletter, segment=segment).count()


# --- Memberships ------------------------------------------------------------------------------


def subscribe_offer() -> list[Option]:
    """The lists the subscribe form offers (accounts.subscribe_options), defaults ticked."""
    return [
        Option(
            value=newsletter.slug,
            label=newsletter.name,
            help_text=newsletter.description,
            initial=newsletter.is_default,
        )
        for newsletter in Newsletter.objects.choosable()
    ]


@transaction.atomic
def apply_choice(
    *, user: User, chosen: list[str] | None, source: str, new: bool, proven: bool
) -> None:
    """Record what a subscribing reader chose (accounts.subscribe_options.apply).

    chosen None: the defaults. Otherwise the ticked choosable lists, plus the default lists
    readers cannot choose. A new subscription was given every default list by the database
    trigger (migration 0005): the choosable ones left unticked are taken off again. Lists a
    reader left come back only when `proven` (logged in); the address was not proved otherwise,
    and a confirmed reader's new lists wait for their code (join).
    """
    Newsletter.objects.default()  # the list a first subscriber gets on a fresh site
    if chosen is None and not proven and _confirmed(user):
        return  # no choice was offered (the footer box, the API): a confirmed reader keeps theirs
    wanted = Newsletter.objects.current().filter(is_default=True)
    if chosen is not None:
        picked = Newsletter.objects.choosable().filter(slug__in=chosen)
        wanted = wanted.filter(is_choosable=False) | picked
        if new:
            Membership.objects.filter(
                user=user, newsletter__is_choosable=True, status=Membership.Status.SUBSCRIBED
            ).exclude(newsletter__in=picked).delete()
    join(user=user, newsletters=wanted, source=source, revive=proven)


def join(
    *, user: User, newsletters: Iterable[Newsletter], source: str = "", revive: bool = True
) -> None:
    """Subscribe a reader to newsletters; with revive (the reader is who asks), also to those
    they had left.

    Without revive the address was only typed on a form. A reader who never confirmed gets
    nothing before their code anyway; but a confirmed reader would start getting a newsletter
    someone else chose for them, so theirs wait as pending until they type the code
    (join_pending, on accounts.signals.address_proven).
    """
    now = timezone.now()
    confirmed = _confirmed(user)
    for newsletter in newsletters:
        status = Membership.Status.PENDING if confirmed and not revive else None
        membership, created = Membership.objects.get_or_create(
            user=user,
            newsletter=newsletter,
            defaults={
                "source": source[:100],
                "created_at": now,
                "status": status or Membership.Status.SUBSCRIBED,
            },
        )
        if status == Membership.Status.PENDING:
            continue
        if not created and revive and membership.status != Membership.Status.SUBSCRIBED:
            membership.status = Membership.Status.SUBSCRIBED
            membership.unsubscribed_at = None
            membership.source = source[:100] or membership.source
            membership.save(update_fields=["status", "unsubscribed_at", "source"])
        elif not created:
            continue
        if confirmed:
            # A confirmed reader joining another newsletter gets its welcome series; one who
            # has yet to confirm enters them all when they do (newsletter.receivers).
            from newsletter.welcome import enter_series

            enter_series(user=user, newsletter=newsletter)


def _confirmed(user: User) -> bool:
    return Subscription.objects.filter(user=user, status=Subscription.Status.ACTIVE).exists()


# A choice made on a form waits this long for the code that form emailed (allauth's codes
# last minutes); an older one is not carried out by a later, unrelated login.
PENDING_FOR = timedelta(hours=1)


def join_pending(*, user: User) -> int:
    """Start the newsletters that waited for the reader's code; return how many."""
    waiting = Newsletter.objects.filter(
        memberships__user=user,
        memberships__status=Membership.Status.PENDING,
        memberships__created_at__gte=timezone.now() - PENDING_FOR,
    )
    count = len(waiting)
    if count:
        join(user=user, newsletters=list(waiting), source="", revive=True)
    return count


def leave(*, user: User, newsletter: Newsletter) -> bool:
    """Take a reader off one newsletter (idempotent); return True if they were on it."""
    return bool(
        Membership.objects.filter(
            user=user, newsletter=newsletter, status=Membership.Status.SUBSCRIBED
        ).update(status=Membership.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now())
    )


def offered_to(user: User) -> list[tuple[Newsletter, bool]]:
    """Return the newsletters a reader may choose (and any other they receive) with whether
    they are subscribed, in the editors' order: the preference centre's list."""
    subscribed = set(
        Membership.objects.filter(user=user, status=Membership.Status.SUBSCRIBED).values_list(
            "newsletter_id", flat=True
        )
    )
    newsletters = Newsletter.objects.current().filter(is_choosable=True)
    newsletters |= Newsletter.objects.current().filter(pk__in=subscribed)
    return [(newsletter, newsletter.pk in subscribed) for newsletter in newsletters.distinct()]


@transaction.atomic
def set_lists(*, user: User, newsletter_ids: set[int], source: str) -> None:
    """Make a reader's memberships of the offered newsletters match their choice."""
    for newsletter, subscribed in offered_to(user):
        if newsletter.pk in newsletter_ids and not subscribed:
            join(user=user, newsletters=[newsletter], source=source, revive=True)
        elif newsletter.pk not in newsletter_ids and subscribed:
            leave(user=user, newsletter=newsletter)


@transaction.atomic
def move_members(*, source: Newsletter, target: Newsletter) -> int:
    """Move every membership of source to target (keeping dates and status); return how many
    moved. A reader already on target keeps their membership there and loses source's."""
    if source.pk == target.pk:
        return 0
    already = Membership.objects.filter(newsletter=target).values("user_id")
    Membership.objects.filter(newsletter=source, user_id__in=already).delete()
    return Membership.objects.filter(newsletter=source).update(newsletter=target)


def tag_readers(*, tag, readers: QuerySet[User]) -> int:
    """Put tag on every reader of the queryset in one INSERT ... SELECT; return how many
    readers got it now (those who had it already are left as they are)."""
    from django.db import connection

    from newsletter.models import SubscriberTag

    through = SubscriberTag.readers.through._meta.db_table
    select, params = readers.order_by().values("pk").query.sql_with_params()
    sql = f"""
        INSERT INTO {through} (subscribertag_id, user_id)
        SELECT %s, r.id FROM ({select}) r (id)
        ON CONFLICT (subscribertag_id, user_id) DO NOTHING
    """  # noqa: S608 (the table name from our models; values are parameters)  # nosec
    with connection.cursor() as cursor:
        cursor.execute(sql, [tag.pk, *params])
        return cursor.rowcount


def untag_readers(*, tag, user_ids: Iterable[int]) -> int:
    """Take tag off the given readers; return how many had it."""
    from newsletter.models import SubscriberTag

    return SubscriberTag.readers.through.objects.filter(
        subscribertag=tag, user_id__in=list(user_ids)
    ).delete()[0]


# --- Columns of the subscribers CSV (accounts.services.ExportColumn) --------------------------


def newsletter_names_by_reader(user_ids: list[int]) -> dict[int, str]:
    """Return {user id: "Name; Name"}: the newsletters each reader is subscribed to (one
    query for the whole chunk)."""
    found: dict[int, list[str]] = {}
    rows = (
        Membership.objects.filter(user_id__in=user_ids, status=Membership.Status.SUBSCRIBED)
        .order_by("newsletter__position", "newsletter__name")
        .values_list("user_id", "newsletter__name")
    )
    for user_id, name in rows:
        found.setdefault(user_id, []).append(name)
    return {user_id: "; ".join(names) for user_id, names in found.items()}


def tag_names_by_reader(user_ids: list[int]) -> dict[int, str]:
    """Return {user id: "tag; tag"}: each reader's subscriber tags, by name (one query)."""
    found: dict[int, list[str]] = {}
    rows = (
        SubscriberTag.readers.through.objects.filter(user_id__in=user_ids)
        .order_by("subscribertag__name")
        .values_list("user_id", "subscribertag__name")
    )
    for user_id, name in rows:
        found.setdefault(user_id, []).append(name)
    return {user_id: "; ".join(names) for user_id, names in found.items()}
