"""Daily rollups, and the two short-lived tables that make counting unique visitors possible.

Nothing here names a reader: no address, browser string, email or user id. A visitor is a hash
of address and browser under a salt that lives for one day (DailySalt); the hashes of the day
(SeenVisitor) only answer "counted already?" and both go when the day is over.
"""

from django.db import connection, models
from django.utils.translation import gettext_lazy as _


class DailySalt(models.Model):
    """Today's random salt for visitor hashes, shared by every process; deleted after its day."""

    day = models.DateField(_("day"), primary_key=True)
    salt = models.BinaryField(_("salt"))

    class Meta:
        verbose_name = _("daily salt")
        verbose_name_plural = _("daily salts")

    def __str__(self):
        return str(self.day)


class SeenVisitor(models.Model):
    """One salted visitor hash already counted today for one key ("p:<post>", "l:<send>:<link>",
    "o:<send>"). An unlogged table, emptied of past days at each flush."""

    day = models.DateField(_("day"))
    key = models.CharField(_("what was counted"), max_length=40)
    visitor = models.CharField(_("salted visitor hash"), max_length=32)

    class Meta:
        verbose_name = _("visitor seen today")
        verbose_name_plural = _("visitors seen today")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "key", "visitor"], name="analytics_seen_once_per_day"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.key}"


class PostDay(models.Model):
    """Unique visitors of one post on one day (UTC)."""

    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    visitors = models.PositiveIntegerField(_("visitors"), default=0)

    class Meta:
        verbose_name = _("post visitors per day")
        verbose_name_plural = _("post visitors per day")
        constraints = [
            models.UniqueConstraint(fields=["post", "day"], name="analytics_postday_unique")
        ]

    def __str__(self):
        return f"{self.post_id} {self.day}: {self.visitors}"


class ReferrerDay(models.Model):
    """Unique visitors of one post on one day who came from another site (its host only)."""

    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    host = models.CharField(_("referring site"), max_length=255)
    visitors = models.PositiveIntegerField(_("visitors"), default=0)

    class Meta:
        verbose_name = _("referrer per day")
        verbose_name_plural = _("referrers per day")
        constraints = [
            models.UniqueConstraint(
                fields=["post", "day", "host"], name="analytics_referrerday_unique"
            )
        ]

    def __str__(self):
        return f"{self.host} {self.day}: {self.visitors}"


class LinkArrivalDay(models.Model):
    """Unique visitors who arrived on the site through one link of one send on one day."""

    send = models.ForeignKey(
        "newsletter.NewsletterSend", on_delete=models.CASCADE, related_name="+"
    )
    link = models.PositiveSmallIntegerField(_("link number in the email"))
    path = models.CharField(_("page"), max_length=500)
    day = models.DateField(_("day"))
    visitors = models.PositiveIntegerField(_("visitors"), default=0)

    class Meta:
        verbose_name = _("email link arrivals per day")
        verbose_name_plural = _("email link arrivals per day")
        constraints = [
            models.UniqueConstraint(
                fields=["send", "link", "day"], name="analytics_linkarrivalday_unique"
            )
        ]

    def __str__(self):
        return f"send {self.send_id} link {self.link} {self.day}: {self.visitors}"


class OpenDay(models.Model):
    """Opens of one send on one day, counted by the optional pixel (off by default)."""

    send = models.ForeignKey(
        "newsletter.NewsletterSend", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    opens = models.PositiveIntegerField(_("opens"), default=0)

    class Meta:
        verbose_name = _("email opens per day")
        verbose_name_plural = _("email opens per day")
        constraints = [
            models.UniqueConstraint(fields=["send", "day"], name="analytics_openday_unique")
        ]

    def __str__(self):
        return f"send {self.send_id} {self.day}: {self.opens}"


class SubscriberDayQuerySet(models.QuerySet):
    def rebuild(self) -> None:
        """Recount every day from the subscriptions' own dates, as the triggers would have
        written them had they run on those days: joined on the day of confirming, left on the
        day of unsubscribing (bounces and complaints record that day too). Used by the demo,
        whose readers arrive with a past; migration 0001 keeps its own frozen copy."""
        self.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO analytics_subscriberday (day, source, joined, departed)
                SELECT day, source, sum(j), sum(d) FROM (
                    SELECT (coalesce(confirmed_at, created_at) AT TIME ZONE 'UTC')::date AS day,
                           source, 1 AS j, 0 AS d
                    FROM accounts_subscription
                    WHERE status = 'active'
                       OR (confirmed_at IS NOT NULL AND unsubscribed_at IS NOT NULL)
                    UNION ALL
                    SELECT (unsubscribed_at AT TIME ZONE 'UTC')::date, source, 0, 1
                    FROM accounts_subscription
                    WHERE status <> 'active' AND confirmed_at IS NOT NULL
                      AND unsubscribed_at IS NOT NULL
                ) history GROUP BY day, source
                """
            )


class SubscriberDay(models.Model):
    """Subscribers who joined (became active) and left on one day, by the subscription's source
    ("post:<id>" for a post's page or gate). Kept by triggers on accounts_subscription
    (migration 0001), so every way a subscription changes is counted."""

    day = models.DateField(_("day"))
    source = models.CharField(_("source"), max_length=100, blank=True)
    joined = models.PositiveIntegerField(_("joined"), default=0)
    departed = models.PositiveIntegerField(_("left"), default=0)

    objects = SubscriberDayQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscribers per day")
        verbose_name_plural = _("subscribers per day")
        constraints = [
            models.UniqueConstraint(fields=["day", "source"], name="analytics_subscriberday_unique")
        ]

    def __str__(self):
        return f"{self.day} {self.source}: +{self.joined} -{self.departed}"
