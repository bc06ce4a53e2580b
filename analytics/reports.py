"""What the analytics pages and the admin dashboard show, read from the daily rollups (and, for a
send, from the delivery and subscription records the newsletter app keeps). Each function runs a
fixed number of aggregate queries, however many visits or subscribers there are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from accounts.models import Subscription
from analytics.charts import Chart
from analytics.counting import today
from analytics.models import LinkArrivalDay, OpenDay, PostDay, ReferrerDay, SubscriberDay
from comments.models import Comment
from newsletter.models import Delivery, NewsletterSend
from polls.models import Vote
from posts.models import Post, ThumbsUp

RANGES = (30, 90, 365)
POST_SOURCE = "post:"


def days_back(days: int) -> list[date]:
    """Return the last `days` days, oldest first, ending today."""
    end = today()
    return [end - timedelta(days=n) for n in range(days - 1, -1, -1)]


def pick_range(value: str | None) -> int:
    """Return the chosen number of days, 30 unless one of RANGES was asked for."""
    return int(value) if value in {str(r) for r in RANGES} else RANGES[0]


def _by_day(rows, days: list[date], field: str) -> list[int]:
    values = {row["day"]: row[field] or 0 for row in rows}
    return [values.get(day, 0) for day in days]


def source_names(sources: list[str]) -> dict[str, str]:
    """Return a readable name for each subscription source ("post:12" is the post's title)."""
    ids = [int(s[len(POST_SOURCE) :]) for s in sources if _is_post_source(s)]
    titles = dict(Post.objects.filter(pk__in=ids).values_list("pk", "title")) if ids else {}
    names = {}
    for source in sources:
        if _is_post_source(source):
            pk = int(source[len(POST_SOURCE) :])
            names[source] = titles.get(pk, _("A deleted post"))
        else:
            names[source] = source or _("(not recorded)")
    return names


def _is_post_source(source: str) -> bool:
    return source.startswith(POST_SOURCE) and source[len(POST_SOURCE) :].isdigit()


@dataclass
class Growth:
    days: int
    subscribers_now: int
    joined: int
    departed: int
    chart: Chart
    by_source: list[dict]

    @property
    def net(self) -> int:
        return self.joined - self.departed


def growth(*, days: int) -> Growth:
    """Subscribers now, and who joined and left over the last `days` days, by day and source."""
    span = days_back(days)
    in_range = SubscriberDay.objects.filter(day__gte=span[0])
    per_day = list(
        in_range.values("day").annotate(joined=Sum("joined"), departed=Sum("departed")).order_by()
    )
    joined = _by_day(per_day, span, "joined")
    departed = _by_day(per_day, span, "departed")
    chart = Chart(
        slug="growth",
        title=_("Subscribers joined and left per day, last %(days)d days") % {"days": days},
        labels=[d.isoformat() for d in span],
        series=[
            (_("New"), joined),
            (_("Left"), departed),
            (_("Net"), [j - d for j, d in zip(joined, departed, strict=True)]),
        ],
        kind="bar" if days <= 30 else "line",
    )
    sources = list(
        in_range.values("source")
        .annotate(joined=Sum("joined"), departed=Sum("departed"))
        .order_by("-joined", "source")
    )
    names = source_names([row["source"] for row in sources])
    for row in sources:
        row["name"] = names[row["source"]]
        row["net"] = row["joined"] - row["departed"]
        row["post_id"] = (
            int(row["source"][len(POST_SOURCE) :]) if _is_post_source(row["source"]) else None
        )
    return Growth(
        days=days,
        subscribers_now=Subscription.objects.active().count(),
        joined=sum(joined),
        departed=sum(departed),
        chart=chart,
        by_source=sources,
    )


def top_posts(*, days: int, limit: int = 10) -> dict[str, list[dict]]:
    """The posts with the most visitors, and with the most new subscribers, over `days` days."""
    start = days_back(days)[0]
    visited = list(
        PostDay.objects.filter(day__gte=start)
        .values("post_id", "post__title")
        .annotate(visitors=Sum("visitors"))
        .order_by("-visitors", "post_id")[:limit]
    )
    converted = list(
        SubscriberDay.objects.filter(day__gte=start, source__startswith=POST_SOURCE)
        .values("source")
        .annotate(joined=Sum("joined"))
        .filter(joined__gt=0)
        .order_by("-joined", "source")[:limit]
    )
    names = source_names([row["source"] for row in converted])
    for row in converted:
        row["name"] = names[row["source"]]
        row["post_id"] = (
            int(row["source"][len(POST_SOURCE) :]) if _is_post_source(row["source"]) else None
        )
    return {"by_visitors": visited, "by_conversions": converted}


def post_report(*, post: Post, days: int) -> dict:
    """Everything the per-post page shows, from rollups and counts."""
    span = days_back(days)
    per_day = list(
        PostDay.objects.filter(post=post, day__gte=span[0]).values("day", "visitors").order_by()
    )
    visitors = Chart(
        slug="visitors",
        title=_("Unique visitors per day, last %(days)d days") % {"days": days},
        labels=[d.isoformat() for d in span],
        series=[(_("Visitors"), _by_day(per_day, span, "visitors"))],
        kind="bar" if days <= 30 else "line",
    )
    total = PostDay.objects.filter(post=post).aggregate(n=Sum("visitors"))["n"] or 0
    referrers = list(
        ReferrerDay.objects.filter(post=post, day__gte=span[0])
        .values("host")
        .annotate(visitors=Sum("visitors"))
        .order_by("-visitors", "host")[:20]
    )
    send = NewsletterSend.objects.filter(post=post).first()
    email_arrivals = (
        LinkArrivalDay.objects.filter(send=send, day__gte=span[0]).aggregate(n=Sum("visitors"))["n"]
        or 0
        if send
        else 0
    )
    in_range = sum(visitors.series[0][1])
    referred = sum(row["visitors"] for row in referrers)
    sources = Chart(
        slug="sources",
        title=_("Where visitors came from, last %(days)d days") % {"days": days},
        labels=[_("Other sites"), _("The newsletter"), _("Direct or unknown")],
        series=[
            (
                _("Visitors"),
                [referred, email_arrivals, max(in_range - referred - email_arrivals, 0)],
            )
        ],
        kind="bar",
    )
    source = f"{POST_SOURCE}{post.pk}"
    conversions_rows = list(
        SubscriberDay.objects.filter(source=source, day__gte=span[0])
        .values("day", "joined")
        .order_by()
    )
    conversions = Chart(
        slug="conversions",
        title=_("New subscribers who signed up on this post, last %(days)d days") % {"days": days},
        labels=[d.isoformat() for d in span],
        series=[(_("New subscribers"), _by_day(conversions_rows, span, "joined"))],
        kind="bar" if days <= 30 else "line",
    )
    engagement = {
        "votes": Vote.objects.filter(poll__post=post).count(),
        "thumbs_up": ThumbsUp.objects.filter(post=post).count(),
        "comments": Comment.objects.filter(post=post, status=Comment.Status.VISIBLE).count(),
        "subscribers": SubscriberDay.objects.filter(source=source).aggregate(n=Sum("joined"))["n"]
        or 0,
    }
    return {
        "post": post,
        "days": days,
        "total_visitors": total,
        "visitors": visitors,
        "sources": sources,
        "referrers": referrers,
        "send": send,
        "conversions": conversions,
        "engagement": engagement,
    }


def send_report(*, send: NewsletterSend) -> dict:
    """What happened to a send: deliveries, bounces, complaints, unsubscribes after it, and
    arrivals on the site per link of its email."""
    outcomes = Delivery.objects.filter(send=send).aggregate(
        delivered=Count("pk", filter=Q(status=Delivery.Status.SENT)),
        bounced=Count("pk", filter=Q(status=Delivery.Status.BOUNCED)),
        failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
        pending=Count("pk", filter=Q(status=Delivery.Status.PENDING)),
        complained=Count("pk", filter=Q(user__subscription__status=Subscription.Status.COMPLAINED)),
        unsubscribed=Count(
            "pk",
            filter=Q(
                user__subscription__status=Subscription.Status.UNSUBSCRIBED,
                user__subscription__unsubscribed_at__gte=send.started_at,
            )
            if send.started_at
            else Q(pk=None),
        ),
    )
    links = list(
        LinkArrivalDay.objects.filter(send=send)
        .values("link")
        .annotate(visitors=Sum("visitors"))
        .order_by("link")
    )
    paths = dict(
        LinkArrivalDay.objects.filter(send=send).order_by("link", "day").values_list("link", "path")
    )
    for row in links:
        row["path"] = paths.get(row["link"], "")
    arrivals = Chart(
        slug="links",
        title=_("Arrivals on the site per link of the email"),
        labels=[f"#{row['link']} {row['path']}" for row in links],
        series=[(_("Visitors"), [row["visitors"] for row in links])],
        kind="bar",
    )
    opens = OpenDay.objects.filter(send=send).aggregate(n=Sum("opens"))["n"]
    return {
        "send": send,
        "outcomes": outcomes,
        "links": links,
        "arrivals": arrivals,
        "arrivals_total": sum(row["visitors"] for row in links),
        "opens": opens,
    }


def dashboard(*, days: int) -> dict:
    """The admin index's dashboard: growth, the last posts, what waits for an editor."""
    last_posts = list(
        Post.objects.published()
        .order_by("-published_at")
        .values("pk", "title", "slug", "published_at")[:5]
    )
    ids = [row["pk"] for row in last_posts]

    def per_post(queryset, field: str) -> dict[int, int]:
        return dict(queryset.values_list(field).annotate(n=Count("pk")).order_by())

    votes = per_post(Vote.objects.filter(poll__post_id__in=ids), "poll__post_id")
    thumbs = per_post(ThumbsUp.objects.filter(post_id__in=ids), "post_id")
    comments = per_post(
        Comment.objects.filter(post_id__in=ids, status=Comment.Status.VISIBLE), "post_id"
    )
    sends = dict(
        NewsletterSend.objects.filter(post_id__in=ids).values_list("post_id", "sent_count")
    )
    for row in last_posts:
        row["votes"] = votes.get(row["pk"], 0)
        row["thumbs"] = thumbs.get(row["pk"], 0)
        row["comment_count"] = comments.get(row["pk"], 0)
        row["delivered"] = sends.get(row["pk"])
    in_progress = list(
        NewsletterSend.objects.filter(
            status__in=[NewsletterSend.Status.SENDING, NewsletterSend.Status.PAUSED]
        )
        .select_related("post")
        .order_by("started_at")[:10]
    )
    return {
        "growth": growth(days=days),
        "ranges": RANGES,
        "last_posts": last_posts,
        "held_comments": Comment.objects.filter(status=Comment.Status.HELD).count(),
        "sends_in_progress": in_progress,
        "failing": Delivery.objects.filter(status=Delivery.Status.FAILED).count(),
        "failing_sends": NewsletterSend.objects.filter(failed_count__gt=0)
        .exclude(last_error="")
        .order_by("-started_at")
        .values("pk", "post__title", "failed_count", "last_error")[:5],
    }
