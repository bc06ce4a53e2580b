"""The audience and what it receives: newsletters and each reader's membership of them,
subscriber tags and notes, saved segments; a post sent by email (NewsletterSend) and each
reader's copy (Delivery).

NewsletterSend and Delivery moved here from `accounts`; they keep their tables
(`accounts_newslettersend`, `accounts_delivery`), so moving them moved no data.

`accounts.Subscription` stays the reader's one record of being a subscriber at all (confirmed,
unsubscribed from everything, bounced). A Membership says which newsletters they get: a send
to newsletter N goes to readers whose subscription is active *and* whose membership of N is.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from newsletter.leases import LeasedQuerySet
from publication.models import Publication


class NewsletterQuerySet(models.QuerySet):
    def current(self):
        """Newsletters that are not archived."""
        return self.filter(is_archived=False)

    def choosable(self):
        """Newsletters readers may pick themselves."""
        return self.current().filter(is_choosable=True)

    def default(self) -> Newsletter:
        """Return the newsletter a send goes to when none is named, creating it if missing."""
        found = self.current().filter(is_default=True).order_by("position", "pk").first()
        if found is None:
            found = self.current().order_by("position", "pk").first()
        if found is None:
            found, _ = self.get_or_create(
                slug=DEFAULT_NEWSLETTER_SLUG,
                defaults={"name": Publication.objects.current().name, "is_default": True},
            )
        return found


DEFAULT_NEWSLETTER_SLUG = "newsletter"


class Newsletter(models.Model):
    """One list readers can receive: a send goes to one newsletter."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    description = models.CharField(
        _("description"),
        max_length=300,
        blank=True,
        help_text=_("Shown to readers beside the checkbox when they choose newsletters."),
    )
    sender_name = models.CharField(
        _("sender name"),
        max_length=100,
        blank=True,
        help_text=_("The name in the From line of this newsletter's emails; empty: the site's."),
    )
    is_default = models.BooleanField(
        _("new subscribers get it"),
        default=True,
        help_text=_("Ticked in advance on the subscribe form; given to imported subscribers."),
    )
    is_choosable = models.BooleanField(
        _("readers may choose it"),
        default=True,
        help_text=_("Shown on the subscribe form and in the reader's subscription settings."),
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_archived = models.BooleanField(
        _("archived"),
        default=False,
        help_text=_("No longer offered or sent; the members and past sends stay."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = NewsletterQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("newsletter")
        verbose_name_plural = _("newsletters")

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A reader's membership of one newsletter: kept when they leave it, with its dates."""

    class Status(models.TextChoices):
        SUBSCRIBED = "subscribed", _("Subscribed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        # Asked for on a form by someone who typed a confirmed reader's address: nothing is sent
        # until the reader proves the address with the emailed code (audience.join).
        PENDING = "pending", _("Waiting for the reader's code")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("reader"),
    )
    newsletter = models.ForeignKey(
        Newsletter,
        # Deleting a newsletter with members is refused: move them first (the admin offers it).
        on_delete=models.PROTECT,
        related_name="memberships",
        verbose_name=_("newsletter"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.SUBSCRIBED)
    source = models.CharField(
        _("source"),
        max_length=100,
        blank=True,
        help_text=_("Where they joined: a page, a post, a referral, an import, the admin."),
    )
    created_at = models.DateTimeField(_("joined"), default=timezone.now)
    unsubscribed_at = models.DateTimeField(_("left"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "newsletter"], name="newsletter_membership_once"
            ),
        ]
        indexes = [
            models.Index(fields=["newsletter", "status"], name="newsletter_membership_list"),
        ]

    def __str__(self):
        return f"{self.user_id} → {self.newsletter_id} ({self.get_status_display()})"


def default_newsletter_id() -> int:
    """Return the default newsletter's id: a send made without naming one goes there."""
    return Newsletter.objects.default().pk


class NewsletterSend(models.Model):
    """One post sent by email to the subscribers: at most one per post, kept as a record."""

    class Mode(models.TextChoices):
        FULL = "full", _("The full post")
        TEASER = "teaser", _("A teaser with a “Continue reading” button")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        FINISHED = "finished", _("Finished")

    post = models.OneToOneField(
        "posts.Post",
        on_delete=models.CASCADE,
        related_name="newsletter_send",
        verbose_name=_("post"),
        help_text=_("A post goes out by email once; the database refuses a second send."),
    )
    newsletter = models.ForeignKey(
        Newsletter,
        on_delete=models.PROTECT,
        related_name="sends",
        verbose_name=_("newsletter"),
        default=default_newsletter_id,
    )
    segment = models.ForeignKey(
        "Segment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sends",
        verbose_name=_("segment"),
        help_text=_("Only the newsletter's readers in this segment; empty: all of them."),
    )
    mode = models.CharField(_("content"), max_length=10, choices=Mode, default=Mode.FULL)
    teaser_words = models.PositiveIntegerField(
        _("teaser length in words"),
        default=150,
        help_text=_("Used for a teaser when the post has no “more” marker."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.SENDING, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    scheduled_for = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The shared part of the email, rendered once when sending starts, with placeholders where the
    # personal links go. Every subscriber gets the same content even if the post is edited later.
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    html_body = models.TextField(_("HTML body"), blank=True, editable=False)
    text_body = models.TextField(_("text body"), blank=True, editable=False)
    recipients_count = models.PositiveIntegerField(_("recipients"), default=0)
    sent_count = models.PositiveIntegerField(_("sent"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    bounced_count = models.PositiveIntegerField(_("bounced"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    heartbeat_at = models.DateTimeField(
        _("last activity"), null=True, blank=True, help_text=_("When a worker last took a batch.")
    )
    retry_at = models.DateTimeField(
        _("next try"),
        null=True,
        blank=True,
        help_text=_("Set while the mail server is unreachable: sending resumes at this time."),
    )
    transport_failures = models.PositiveIntegerField(_("mail server failures in a row"), default=0)
    last_error = models.CharField(_("last mail server error"), max_length=500, blank=True)
    # Identifies the current watchdog chain, so resuming a send replaces the old one instead of
    # adding a second.
    watchdog_token = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        db_table = "accounts_newslettersend"
        ordering = ["-created_at"]
        verbose_name = _("newsletter send")
        verbose_name_plural = _("newsletter sends")

    def __str__(self):
        return f"{self.post} ({self.get_status_display()})"

    def progress(self) -> dict[str, int]:
        """Return the delivery counts by status plus the total, from one aggregate query."""
        counts = dict.fromkeys(Delivery.Status.values, 0)
        for row in self.deliveries.order_by().values("status").annotate(n=models.Count("pk")):
            counts[row["status"]] = row["n"]
        counts["total"] = sum(counts.values())
        return counts


class DeliveryQuerySet(LeasedQuerySet):
    def pending(self):
        """Deliveries that have no outcome yet."""
        return self.filter(status=Delivery.Status.PENDING)

    def claimable(self):
        """Pending deliveries no worker holds and no retry delay holds back (database time)."""
        return self.pending().free()


class Delivery(models.Model):
    """One subscriber's copy of one send: unique per (send, reader), so nobody gets it twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        BOUNCED = "bounced", _("Bounced")
        SKIPPED = "skipped", _("Skipped (no longer subscribed)")

    send = models.ForeignKey(
        NewsletterSend, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("send")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("reader"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # A pending row is free for any worker once this time has passed. Claiming a batch moves it
    # into the future (a lease); a temporary failure moves it by the retry delay.
    available_at = models.DateTimeField(_("available from"), default=timezone.now)
    claimed_by = models.CharField(_("worker"), max_length=64, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        db_table = "accounts_delivery"
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["send", "user"], name="accounts_delivery_once_per_send"
            ),
        ]
        indexes = [
            models.Index(fields=["send", "status"], name="accounts_delivery_progress"),
            # Workers claim the pending rows of a send that became free first (lowest id first
            # among equals): this index walks exactly those, in that order. Ordered by id alone,
            # PostgreSQL may walk the primary key instead and step over every row already sent
            # (a send's first rows go first), which grows with the send: 8 ms per claim after
            # 6,100 of 100,000 were sent.
            models.Index(
                fields=["send", "available_at", "id"],
                name="accounts_delivery_claim_free",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self):
        return f"{self.send.post} → {self.user.email} ({self.get_status_display()})"


class SubscriberTag(models.Model):
    """A label editors put on subscribers (separate from the posts' tags)."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    readers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="subscriber_tags",
        verbose_name=_("readers"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("subscriber tag")
        verbose_name_plural = _("subscriber tags")

    def __str__(self):
        return self.name


class SubscriberNote(models.Model):
    """What editors write down about a subscriber; readers never see it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="subscriber_note",
        verbose_name=_("reader"),
    )
    text = models.TextField(_("note"), blank=True, max_length=5000)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("subscriber note")
        verbose_name_plural = _("subscriber notes")

    def __str__(self):
        return self.text[:60]


class Segment(models.Model):
    """A saved filter over the subscribers: every condition must hold (AND).

    `conditions` is a list of small objects, checked by newsletter.segments.validate_conditions
    (which also lists the kinds); the count and the readers come from newsletter.segments.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self):
        return self.name

    def clean(self):
        from newsletter.segments import validate_conditions

        super().clean()
        self.conditions = validate_conditions(self.conditions)


class WelcomeStep(models.Model):
    """One email of a newsletter's welcome series, sent to each new reader once, in order."""

    class DelayFrom(models.TextChoices):
        SIGNUP = "signup", _("after signup")
        PREVIOUS = "previous", _("after the previous step")

    newsletter = models.ForeignKey(
        Newsletter,
        on_delete=models.CASCADE,
        related_name="welcome_steps",
        verbose_name=_("newsletter"),
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"), blank=True)
    delay_hours = models.PositiveIntegerField(
        _("delay in hours"),
        default=0,
        help_text=_("How long to wait before this email goes out; 0: at once."),
    )
    delay_from = models.CharField(
        _("counted from"), max_length=10, choices=DelayFrom, default=DelayFrom.PREVIOUS
    )
    show_latest_post = models.BooleanField(
        _("show the latest post"),
        default=False,
        help_text=_("Add a button to the latest published post below the text."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive steps are skipped, not sent.")
    )

    class Meta:
        ordering = ["newsletter", "position", "pk"]
        verbose_name = _("welcome step")
        verbose_name_plural = _("welcome steps")

    def __str__(self):
        return self.subject

    def save(self, *args, **kwargs):
        from posts.richtext import sanitize_body

        # Every way a body arrives (admin, shell, demo) goes through the posts' allow-list.
        self.body = sanitize_body(self.body)
        super().save(*args, **kwargs)


class WelcomeProgressQuerySet(LeasedQuerySet):
    def waiting(self):
        """Readers still in a series."""
        return self.filter(status=WelcomeProgress.Status.WAITING)

    def due(self):
        """Readers whose next step is due and that no worker holds (database time)."""
        return self.waiting().free().filter(due_at__lte=Now())


class WelcomeProgress(models.Model):
    """Where one reader is in one newsletter's welcome series: the next step and when it is due.

    `next_position` is a position, not a step, so a step deleted while readers wait at it
    sends them on to the step after it.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("In the series")
        DONE = "done", _("Finished")
        STOPPED = "stopped", _("Stopped (left, unsubscribed or bounced)")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="welcome_progress",
        verbose_name=_("reader"),
    )
    newsletter = models.ForeignKey(
        Newsletter,
        on_delete=models.CASCADE,
        related_name="welcome_progress",
        verbose_name=_("newsletter"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.WAITING)
    started_at = models.DateTimeField(_("entered"), default=timezone.now)
    next_position = models.PositiveSmallIntegerField(_("next step's position"), default=0)
    due_at = models.DateTimeField(_("next step due"), default=timezone.now)
    last_sent_at = models.DateTimeField(_("last step sent"), null=True, blank=True)
    steps_sent = models.PositiveSmallIntegerField(_("steps sent"), default=0)
    # A lease, as for deliveries: a worker that claims the row moves this into the future; a
    # worker killed mid-step leaves it to be taken again when the lease ends.
    available_at = models.DateTimeField(_("available from"), default=timezone.now)
    claimed_by = models.CharField(_("worker"), max_length=64, blank=True)

    objects = WelcomeProgressQuerySet.as_manager()

    class Meta:
        verbose_name = _("welcome progress")
        verbose_name_plural = _("welcome progress")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "newsletter"], name="newsletter_welcome_once_per_reader"
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="newsletter_welcome_due",
                condition=models.Q(status="waiting"),
            ),
        ]

    def __str__(self):
        return f"{self.user_id} → {self.newsletter_id} ({self.get_status_display()})"


class WelcomeEmail(models.Model):
    """The record that one step went to one reader: unique, so no step goes out twice."""

    step = models.ForeignKey(
        WelcomeStep,
        on_delete=models.SET_NULL,
        null=True,
        related_name="emails",
        verbose_name=_("step"),
    )
    progress = models.ForeignKey(
        WelcomeProgress, on_delete=models.CASCADE, related_name="emails", verbose_name=_("reader")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    subject = models.CharField(_("subject"), max_length=300)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    worker = models.CharField(_("sent by worker"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("welcome email")
        verbose_name_plural = _("welcome emails")
        constraints = [
            models.UniqueConstraint(
                fields=["progress", "position"], name="newsletter_welcome_email_once"
            ),
        ]

    def __str__(self):
        return self.subject


class ReferralMilestone(models.Model):
    """A number of counted referrals that earns a reader a reward email (accounts.Referral)."""

    count = models.PositiveIntegerField(
        _("referrals"),
        unique=True,
        help_text=_("Readers reach this milestone when this many of their referrals count."),
    )
    subject = models.CharField(_("reward email subject"), max_length=200)
    body = models.TextField(
        _("reward email body"),
        help_text=_("Plain text. Sent once to each reader who reaches the milestone."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive milestones send nothing.")
    )

    class Meta:
        ordering = ["count"]
        verbose_name = _("referral milestone")
        verbose_name_plural = _("referral milestones")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(count__gte=1), name="newsletter_referralmilestone_count_positive"
            ),
        ]

    def __str__(self):
        return f"{self.count}: {self.subject}"


class ReferralReward(models.Model):
    """A milestone reached by a reader: one row per reader and milestone, so its email goes
    out once (sent_at is set in the same transaction that sends it, under the row's lock)."""

    milestone = models.ForeignKey(
        ReferralMilestone, on_delete=models.CASCADE, related_name="rewards"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_rewards"
    )
    reached_at = models.DateTimeField(_("reached"), default=timezone.now)
    sent_at = models.DateTimeField(_("email sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("referral reward")
        verbose_name_plural = _("referral rewards")
        constraints = [
            models.UniqueConstraint(
                fields=["milestone", "user"], name="newsletter_referralreward_once"
            ),
        ]

    def __str__(self):
        return f"{self.user} reached {self.milestone.count}"
