"""Demo analytics: five weeks of rollups for the demo posts, and one finished send with its
deliveries and arrivals per link, so the dashboard and the analytics pages have a history."""

import random
from datetime import timedelta

from django.utils import timezone

from analytics.counting import today
from analytics.models import LinkArrivalDay, PostDay, ReferrerDay, SubscriberDay
from newsletter.models import Delivery, NewsletterSend

DAYS = 35
HOSTS = ["news.ycombinator.com", "mastodon.social", "www.google.com", "duckduckgo.com"]
LINKS = ["/p/{slug}/", "/about/", "/subscribe/"]


def seed(*, posts, readers, editor) -> None:
    """Add the history once: nothing is added if the demo rollups are already there."""
    if not posts or PostDay.objects.filter(post__in=posts).exists():
        return
    rng = random.Random(15)  # noqa: S311  # nosec (the same demo every time, not security)
    end = today()
    days = [end - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
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
            if index < 10:
                SubscriberDay.objects.update_or_create(
                    day=day,
                    source=f"post:{post.pk}",
                    defaults={"joined": rng.randint(0, 6), "departed": 0},
                )
    for day in days:
        SubscriberDay.objects.update_or_create(
            day=day,
            source="footer",
            defaults={"joined": rng.randint(0, 4), "departed": rng.randint(0, 2)},
        )
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
