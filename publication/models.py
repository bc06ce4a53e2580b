"""The publication's own settings: one row, edited in the admin, read by every app.

``Publication.objects.current()`` is the only way in. It keeps the row (with its navigation
links and social profiles) in each process's memory: the process that saves forgets it at once
(signals.py), every other process re-reads it within ``PUBLICATION_CACHE_SECONDS``. Pages
cached by posts are keyed by ``Publication.stamp``, so no process stores a page with old
settings under a key a process with the new ones would read.
"""

from __future__ import annotations

import re
import time
from email.utils import formataddr, parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from publication.colors import validate_dark_accent, validate_light_accent

SINGLETON_ID = 1
# What the code said before these settings moved to the admin (migration 0002 writes the same).
DEFAULT_TAGLINE = (
    "Clear, unhurried analysis of what comes next in work, cities, energy and technology, with "
    "reader polls and a real discussion."
)
DEFAULT_DESCRIPTION = "Future Forward: analysis of what is next, with reader polls and discussion."
DEFAULT_FOOTER = "Written by people, for readers."
DEFAULT_NAVIGATION = [("Posts", "/archive/"), ("Search", "/search/")]
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def validate_one_line(value: str) -> None:
    """Refuse line breaks and control characters (names end up in email headers)."""
    if CONTROL_RE.search(value or ""):
        raise ValidationError(_("Keep this to one line, without control characters."))


def validate_link_url(value: str) -> None:
    """Allow a path on this site ("/about/") or an http(s) address, nothing else."""
    text = (value or "").strip()
    if text.startswith("/") and not text.startswith("//") and "\\" not in text:
        return
    if urlsplit(text).scheme.lower() in {"http", "https"}:
        URLValidator(schemes=["http", "https"])(text)
        return
    raise ValidationError(
        _("Enter a path on this site starting with / or an address starting with https://."),
        code="unsafe_url",
    )


class PublicationManager(models.Manager):
    _cached: tuple[float, Publication] | None = None

    def current(self) -> Publication:
        """Return the publication's settings, from this process's memory when fresh enough."""
        cached = PublicationManager._cached
        seconds = settings.PUBLICATION_CACHE_SECONDS
        if cached is not None and (seconds is None or time.monotonic() - cached[0] < seconds):
            return cached[1]
        publication = self._load()
        if publication is None:
            # Migration 0002 made the row; should it ever be gone (a flushed test database), it
            # comes back as it was, rather than every page failing.
            self._restore()
            publication = self._load()
        PublicationManager._cached = (time.monotonic(), publication)
        return publication

    def kept_name(self) -> str:
        """Return the name this process holds in memory, however old, without any query (for
        the pages shown when the database is away); the default name before the first load."""
        cached = PublicationManager._cached
        return cached[1].name if cached else Publication._meta.get_field("name").default

    def _load(self) -> Publication | None:
        queryset = self.get_queryset().prefetch_related("navigation_links", "social_profiles")
        return queryset.filter(pk=SINGLETON_ID).first()

    def _restore(self) -> None:
        with transaction.atomic():
            publication, created = self.get_or_create(pk=SINGLETON_ID)
            if created:
                for position, (label, url) in enumerate(DEFAULT_NAVIGATION):
                    publication.navigation_links.create(label=label, url=url, position=position)

    @staticmethod
    def clear_cache() -> None:
        """Forget the settings kept in this process's memory."""
        PublicationManager._cached = None


class Publication(models.Model):
    """Who the publication is and how it looks: the only row of its table."""

    name = models.CharField(
        _("name"), max_length=80, default="Future Forward", validators=[validate_one_line]
    )
    tagline = models.CharField(
        _("tagline"),
        max_length=200,
        blank=True,
        default=DEFAULT_TAGLINE,
        validators=[validate_one_line],
        help_text=_("One sentence under the name on the home page."),
    )
    description = models.TextField(
        _("description"),
        max_length=300,
        blank=True,
        default=DEFAULT_DESCRIPTION,
        help_text=_("For search engines, link previews and the feeds. Up to 300 characters."),
    )
    logo = models.ImageField(
        _("logo"),
        upload_to="publication/",
        blank=True,
        width_field="logo_width",
        height_field="logo_height",
        help_text=_("Shown beside the name in the header and in emails. JPEG, PNG or WebP."),
    )
    logo_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    logo_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    favicon = models.ImageField(
        _("favicon"),
        upload_to="publication/",
        blank=True,
        width_field="favicon_width",
        height_field="favicon_height",
        help_text=_("A square picture for browser tabs and home screens, at least 192 pixels."),
    )
    favicon_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    favicon_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    accent_color = models.CharField(
        _("accent colour"),
        max_length=7,
        default="#0b4f6c",
        validators=[validate_light_accent],
        help_text=_(
            "Links and buttons on light backgrounds, as #rrggbb. Must reach a contrast of 4.5:1."
        ),
    )
    accent_color_dark = models.CharField(
        _("accent colour in dark mode"),
        max_length=7,
        default="#7cc4e4",
        validators=[validate_dark_accent],
        help_text=_(
            "Links and buttons for readers in dark mode, as #rrggbb. Must reach 4.5:1 on the "
            "dark backgrounds, so it is lighter than the light-mode accent."
        ),
    )
    footer_text = models.TextField(
        _("footer text"),
        max_length=500,
        blank=True,
        default=DEFAULT_FOOTER,
        help_text=_("A line or two at the foot of every page. Plain text, up to 500 characters."),
    )
    sender_name = models.CharField(
        _("sender name"),
        max_length=80,
        default="Future Forward",
        validators=[validate_one_line],
        help_text=_("The name readers see in the From line of every email."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = PublicationManager()

    class Meta:
        verbose_name = _("publication")
        verbose_name_plural = _("publication")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=SINGLETON_ID), name="publication_is_a_singleton"
            )
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.pk = SINGLETON_ID  # one row, whoever saves
        super().save(*args, **kwargs)

    @property
    def stamp(self) -> str:
        """A short string that changes whenever the settings do (cache keys, asset URLs)."""
        return str(int(self.updated_at.timestamp() * 1_000_000)) if self.updated_at else "0"

    def sender(self) -> str:
        """Return the From of every email: the sender name with DEFAULT_FROM_EMAIL's address."""
        address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
        return formataddr((self.sender_name, address)) if self.sender_name else address


class NavigationLink(models.Model):
    """One link in the site header's navigation, in order."""

    publication = models.ForeignKey(
        Publication, on_delete=models.CASCADE, related_name="navigation_links"
    )
    label = models.CharField(_("label"), max_length=40)
    url = models.CharField(
        _("address"),
        max_length=500,
        validators=[validate_link_url],
        help_text=_("A path on this site, like /about/, or a full https:// address."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("navigation link")
        verbose_name_plural = _("navigation links")

    def __str__(self):
        return self.label

    def is_external(self) -> bool:
        """Return True if the link leaves this site."""
        return not self.url.startswith("/")


class SocialProfile(models.Model):
    """The publication's profile on another network, linked from the footer."""

    class Network(models.TextChoices):
        MASTODON = "mastodon", "Mastodon"
        BLUESKY = "bluesky", "Bluesky"
        LINKEDIN = "linkedin", "LinkedIn"
        X = "x", "X"
        THREADS = "threads", "Threads"
        INSTAGRAM = "instagram", "Instagram"
        FACEBOOK = "facebook", "Facebook"
        YOUTUBE = "youtube", "YouTube"
        GITHUB = "github", "GitHub"

    # Networks that live on one domain; Mastodon is anyone's server.
    HOSTS = {
        Network.BLUESKY: ("bsky.app",),
        Network.LINKEDIN: ("linkedin.com",),
        Network.X: ("x.com", "twitter.com"),
        Network.THREADS: ("threads.net", "threads.com"),
        Network.INSTAGRAM: ("instagram.com",),
        Network.FACEBOOK: ("facebook.com",),
        Network.YOUTUBE: ("youtube.com",),
        Network.GITHUB: ("github.com",),
    }

    publication = models.ForeignKey(
        Publication, on_delete=models.CASCADE, related_name="social_profiles"
    )
    network = models.CharField(_("network"), max_length=20, choices=Network)
    url = models.URLField(_("profile address"), max_length=300)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("social profile")
        verbose_name_plural = _("social profiles")

    def __str__(self):
        return self.get_network_display()

    def clean(self):
        parts = urlsplit(self.url or "")
        if self.url and parts.scheme != "https":
            raise ValidationError({"url": _("Enter the profile's https:// address.")})
        hosts = self.HOSTS.get(self.network)
        host = (parts.hostname or "").lower()
        if self.url and hosts and not any(host == h or host.endswith(f".{h}") for h in hosts):
            raise ValidationError(
                {
                    "url": _("A %(network)s profile's address is on %(hosts)s.")
                    % {"network": self.get_network_display(), "hosts": " or ".join(hosts)}
                }
            )
