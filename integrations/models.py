"""API keys for the Content API, and webhook endpoints with their delivery log."""

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

KEY_PREFIX = "ffk"


def hash_key(key: str) -> str:
    """Return the stored form of an API key: SHA-256 is enough for 256 random bits."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def usable(self):
        """Keys that were not revoked."""
        return self.filter(revoked_at__isnull=True)

    def authenticate(self, key: str) -> "ApiKey | None":
        """Return the live key `key` names, or None if it is unknown, forged or revoked.

        The public part (between the prefixes' underscores) finds the row; the hashes are
        compared in constant time, so a guess learns nothing from how long the answer took.
        """
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            return None
        candidate = self.usable().filter(lookup=parts[1]).first()
        if candidate is None or not hmac.compare_digest(candidate.key_hash, hash_key(key)):
            return None
        return candidate


class ApiKey(models.Model):
    """A key for the Content API. Only its hash is kept; the key is shown once, on creation."""

    class Scope(models.TextChoices):
        POSTS_FULL = "posts:full", _("Read subscribers-only posts in full")
        SUBSCRIBERS_WRITE = "subscribers:write", _("Create pending subscriptions")

    name = models.CharField(
        _("name"), max_length=100, help_text=_("Who or what uses the key, e.g. “Website widget”.")
    )
    lookup = models.CharField(_("key id"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    scopes = ArrayField(
        models.CharField(max_length=40, choices=Scope),
        default=list,
        blank=True,
        verbose_name=_("scopes"),
        help_text=_("Without a scope a key reads what anyone may read, at the key's rate."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self):
        return f"{self.name} ({KEY_PREFIX}_{self.lookup}_…)"

    def issue(self) -> str:
        """Give this (unsaved) key a fresh secret and return the key in full, to show once."""
        self.lookup = secrets.token_hex(6)
        key = f"{KEY_PREFIX}_{self.lookup}_{secrets.token_urlsafe(32)}"
        self.key_hash = hash_key(key)
        return key

    def is_active(self) -> bool:
        """Return True if the key still works."""
        return self.revoked_at is None

    is_active.boolean = True
    is_active.short_description = _("active")

    def has_scope(self, scope: str) -> bool:
        """Return True if the key was given scope."""
        return scope in self.scopes


class WebhookEvent(models.TextChoices):
    POST_PUBLISHED = "post.published", _("Post published")
    POST_SENT = "post.sent", _("Post sent by email")
    SUBSCRIBER_CONFIRMED = "subscriber.confirmed", _("Subscriber confirmed")
    SUBSCRIBER_UNSUBSCRIBED = "subscriber.unsubscribed", _("Subscriber unsubscribed")
    COMMENT_PUBLISHED = "comment.published", _("Comment published")
    POLL_CLOSED = "poll.closed", _("Poll closed")


class WebhookEndpointQuerySet(models.QuerySet):
    def listening_to(self, event: str):
        """Enabled endpoints subscribed to event."""
        return self.filter(is_enabled=True, events__contains=[event])


class WebhookEndpoint(models.Model):
    """A URL that receives signed POSTs when the chosen events happen."""

    url = models.URLField(
        _("URL"),
        max_length=500,
        help_text=_("An http or https address on the public internet."),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = ArrayField(
        models.CharField(max_length=40, choices=WebhookEvent),
        verbose_name=_("events"),
        help_text=_("What this URL is told about."),
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        editable=False,
        help_text=_("Shown once, when the endpoint is created."),
    )
    is_enabled = models.BooleanField(
        _("enabled"),
        default=True,
        help_text=_("Turned off by itself after repeated failed deliveries."),
    )
    consecutive_failures = models.PositiveIntegerField(
        _("failed deliveries in a row"), default=0, editable=False
    )
    disabled_reason = models.CharField(
        _("why disabled"), max_length=300, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["url"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.url

    def issue_secret(self) -> str:
        """Give this endpoint a fresh signing secret (Standard Webhooks' whsec_ form); return it."""
        self.secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        return self.secret


class WebhookDelivery(models.Model):
    """One event sent to one endpoint, with every attempt made for it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RETRYING = "retrying", _("Will retry")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    message_id = models.CharField(_("message id"), max_length=40, unique=True)
    event = models.CharField(_("event"), max_length=40, choices=WebhookEvent)
    payload = models.JSONField(_("payload"))
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("about reader"),
        help_text=_("The reader whose address the payload carries; deleted with their account."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self):
        return f"{self.get_event_display()} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One HTTP request made for a delivery, and what came back."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("delivery"),
    )
    attempted_at = models.DateTimeField(_("when"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True)
    response_snippet = models.CharField(_("response (start)"), max_length=500, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("took (ms)"), default=0)

    class Meta:
        ordering = ["attempted_at", "id"]
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")

    def __str__(self):
        return f"{self.status_code or self.error} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"

    @property
    def succeeded(self) -> bool:
        """Return True if the receiver answered 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300


class EmittedEvent(models.Model):
    """An event that happens once (a post going live, a poll closing), noted when announced."""

    key = models.CharField(_("event"), max_length=100, unique=True)
    created_at = models.DateTimeField(_("announced"), default=timezone.now)

    class Meta:
        verbose_name = _("announced event")
        verbose_name_plural = _("announced events")

    def __str__(self):
        return self.key


# What the export page says of, and what tidy() writes into, an export whose task went quiet.
STALLED_ERROR = _(
    "The worker writing this file stopped before the end (it was restarted or killed). "
    "Nothing of it is kept; prepare the export again."
)


class PreparedExportQuerySet(models.QuerySet):
    def busy(self):
        """Exports a task is waiting to write, or writing."""
        return self.filter(status__in=PreparedExport.BUSY)

    def expired(self, now=None):
        """Exports whose time is up: finished longer ago than EXPORTS_KEEP_DAYS (ready files and
        failed attempts alike)."""
        now = now or timezone.now()
        return self.filter(
            finished_at__lt=now - timedelta(days=settings.EXPORTS_KEEP_DAYS),
        ).exclude(status__in=PreparedExport.BUSY)

    def stalled(self, now=None):
        """Exports marked as being written whose task has not written for
        EXPORTS_STALE_SECONDS: its worker was killed or lost its database."""
        now = now or timezone.now()
        return self.filter(
            status=PreparedExport.Status.RUNNING,
            heartbeat_at__lt=now - timedelta(seconds=settings.EXPORTS_STALE_SECONDS),
        )

    def listed(self, now=None):
        """Exports the export page shows: every one that has not expired (tidy() deletes the
        expired ones in a worker; until it runs they are simply not shown)."""
        now = now or timezone.now()
        return self.filter(
            models.Q(status__in=PreparedExport.BUSY)
            | models.Q(finished_at__isnull=True)
            | models.Q(finished_at__gte=now - timedelta(days=settings.EXPORTS_KEEP_DAYS))
        )


class PreparedExport(models.Model):
    """An export file written by a background task and kept, in the database, until it expires.

    The file is stored in PreparedExportChunk rows rather than on disk: the task worker and the
    web process may run on different machines, and the database is the one place both reach.
    It is offered for download only once its status is READY, which the task sets after the
    last chunk is written, so a killed worker can never leave half a file looking complete.
    """

    class Kind(models.TextChoices):
        GHOST = "ghost", _("The whole publication (Ghost JSON)")
        CSV = "csv", _("The subscribers (CSV)")
        LIST = "list", _("Part of the subscriber list (CSV)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Being written")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    BUSY = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(_("file"), max_length=10, choices=Kind)
    list_query = models.CharField(
        _("list filters"),
        max_length=2000,
        blank=True,
        help_text=_(
            "For part of the subscriber list: the list's filters and search, as its address "
            "carries them. Checked again by the task before the file is written."
        ),
    )
    list_description = models.CharField(
        _("which subscribers"),
        max_length=500,
        blank=True,
        help_text=_("The filters and search in words, as the editor saw them."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.QUEUED, db_index=True
    )
    filename = models.CharField(_("file name"), max_length=100)
    size = models.PositiveBigIntegerField(
        _("size in bytes"), default=0, help_text=_("Written so far, while it is being written.")
    )
    rows = models.PositiveIntegerField(_("subscribers written"), default=0)
    rows_total = models.PositiveIntegerField(_("subscribers in all"), default=0)
    error = models.TextField(_("what went wrong"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("asked for by"),
    )
    created_at = models.DateTimeField(_("asked for"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        _("last written"),
        null=True,
        blank=True,
        help_text=_(
            "When the task last wrote a piece: a running export whose task went quiet "
            "is marked failed."
        ),
    )
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = PreparedExportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("prepared export")
        verbose_name_plural = _("prepared exports")
        constraints = [
            # Two "Prepare" clicks at once: the second insert fails here, so one file of a kind
            # (and, for part of the list, of the same filters) is ever being written.
            models.UniqueConstraint(
                fields=["kind", "list_query"],
                condition=models.Q(status__in=["queued", "running"]),
                name="integrations_preparedexport_one_busy_per_list",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.get_status_display()})"

    @property
    def is_busy(self) -> bool:
        """Return True while a task is waiting to write this export or writing it."""
        return self.status in self.BUSY

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def is_stalled(self) -> bool:
        """Return True if this export is marked as being written but its task went quiet for
        EXPORTS_STALE_SECONDS: the page shows it as stopped before tidy() marks it failed."""
        return (
            self.status == self.Status.RUNNING
            and self.heartbeat_at is not None
            and self.heartbeat_at
            < timezone.now() - timedelta(seconds=settings.EXPORTS_STALE_SECONDS)
        )

    @property
    def is_waited_on(self) -> bool:
        """Return True while the page should keep looking for news of this export."""
        return self.is_busy and not self.is_stalled

    @property
    def expires_at(self):
        """When the file is deleted (None until it is finished)."""
        if self.finished_at is None:
            return None
        return self.finished_at + timedelta(days=settings.EXPORTS_KEEP_DAYS)

    def percent_done(self) -> int | None:
        """Return how far the subscribers are written, 0 to 100, or None before counting."""
        if self.status == self.Status.READY:
            return 100
        if not self.rows_total:
            return None
        return min(99, round(100 * self.rows / self.rows_total))


class PreparedExportChunk(models.Model):
    """One piece of a prepared export's file, in order (about EXPORTS_CHUNK_BYTES each)."""

    export = models.ForeignKey(
        PreparedExport, on_delete=models.CASCADE, related_name="chunks", verbose_name=_("export")
    )
    position = models.PositiveIntegerField(_("position"))
    data = models.BinaryField(_("bytes"))

    class Meta:
        ordering = ["export", "position"]
        verbose_name = _("piece of an export")
        verbose_name_plural = _("pieces of exports")
        constraints = [
            models.UniqueConstraint(
                fields=["export", "position"], name="integrations_exportchunk_once"
            ),
        ]

    def __str__(self):
        return f"{self.export_id}#{self.position}"
