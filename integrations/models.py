"""API keys for the Content API, and webhook endpoints with their delivery log."""

import base64
import hashlib
import hmac
import secrets

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
