"""Demo analytics: five weeks of rollups for the demo posts, and one finished send with its
deliveries and arrivals per link, so the dashboard and the analytics pages have a history."""

import random
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from accounts.models import Subscription, User
from analytics.counting import today
from analytics.models import LinkArrivalDay, PostDay, ReferrerDay, SubscriberDay
from newsletter.models import Delivery, NewsletterSend

DAYS = 35
HOSTS = ["news.ycombinator.com", "mastodon.social", "www.google.com", "duckduckgo.com"]
LINKS = ["/p/{slug}/", "/about/", "/subscribe/"]
# fmt: off
FIRST_NAMES = [
    "Amara", "Bilal", "Carmen", "Dmitri", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas",
    "Kavya", "Luca", "Mariam", "Nils", "Olu", "Priya", "Quinn", "Rosa", "Sami", "Tomas", "Uma",
    "Viktor", "Wen", "Yara", "Zeno",
]
LAST_NAMES = [
    "Abebe", "Brandt", "Castillo", "Dubois", "Eriksen", "Fofana", "Garcia", "Horvat", "Ito",
    "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Rossi",
    "Silva", "Tanaka", "Varga",
]
# fmt: on


def seed(*, posts, readers, editor) -> None:
    """Add the history once: nothing is added if the demo rollups are already there."""
    if not posts or PostDay.objects.filter(post__in=posts).exists():
        return
    rng = random.Random(15)  # noqa: S311  # nosec (the same demo every time, not security)
    end = today()
    days = [end - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    arrivals: list[tuple[str, date, date | None]] = []  # source, joined, left (or None)
    for age, post in enumerate(posts):
        first = max(0, DAYS - 1 - 7 * (age + 1))  # the newest post has the shortest history
        for index, day in enumerate(days[first:]):
            fresh = max(1, 120 - 12 * index)
            visitors = fresh + rng.randint(5, 30)
            PostDay.objects.create(post=post, day=day, visitors=visitors)
            for host in rng.sample(HOSTS, 2):
                ReferrerDay.objects.create(
                    post=post, day=day, host=host, visitors=rng.randint(1, visitors // 3 + 1)
                )
            if index < 10:  # a post brings readers in its first ten days
                for _ in range(rng.randint(0, 6)):
                    arrivals.append((f"post:{post.pk}", day, None))
    for number, day in enumerate(days):
        for _ in range(rng.randint(0, 4)):
            left = None
            if number < DAYS - 3 and rng.random() < 0.2:  # a few leave within days
                left = days[min(DAYS - 1, number + rng.randint(1, 10))]
            arrivals.append(("footer", day, left))
    _add_history_readers(arrivals, rng)
    post = posts[0]
    if NewsletterSend.objects.filter(post=post).exists() or not readers:
        return
    started = timezone.now() - timedelta(days=2)
    send = NewsletterSend.objects.create(
        post=post,
        created_by=editor,
        status=NewsletterSend.Status.FINISHED,
        subject=post.title,
        started_at=started,
        finished_at=started + timedelta(minutes=3),
        recipients_count=len(readers),
        sent_count=len(readers),
    )
    Delivery.objects.bulk_create(
        Delivery(send=send, user=reader, status=Delivery.Status.SENT, sent_at=started)
        for reader in readers
    )
    for number, link in enumerate(LINKS, start=1):
        for day in (started.date(), started.date() + timedelta(days=1)):
            LinkArrivalDay.objects.create(
                send=send,
                link=number,
                path=link.format(slug=post.slug),
                day=day,
                visitors=rng.randint(3, 40) // number,
            )


def _add_history_readers(arrivals, rng) -> None:
    """Make a reader for each demo arrival, with the dates and source it had, then recount
    the daily rollups from the subscriptions, so the growth chart, the sources table and the
    subscriber count all tell the same story."""
    users, subscriptions = [], []
    for number, (source, joined, left) in enumerate(arrivals, start=1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        user = User(
            email=f"{first}.{last}.{number}@readers.example".lower(),
            display_name=f"{first} {last}",
            date_joined=_at(joined, rng),
        )
        user.set_unusable_password()
        users.append(user)
        signed_up = _at(joined, rng)
        subscriptions.append(
            Subscription(
                user=user,
                source=source,
                status=Subscription.Status.UNSUBSCRIBED if left else Subscription.Status.ACTIVE,
                created_at=signed_up,
                confirmed_at=signed_up + timedelta(minutes=rng.randint(1, 90)),
                unsubscribed_at=_at(left, rng) if left else None,
            )
        )
    User.objects.bulk_create(users)
    Subscription.objects.bulk_create(subscriptions)
    SubscriberDay.objects.rebuild()


def _at(day: date, rng) -> datetime:
    moment = datetime.combine(day, time(hour=rng.randint(6, 21), minute=rng.randint(0, 59)))
    return min(timezone.make_aware(moment), timezone.now() - timedelta(minutes=5))
