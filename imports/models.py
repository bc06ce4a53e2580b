"""Imports from other newsletter platforms: the uploaded file, what it did, and what it left.

An Import keeps the uploaded bytes in the database rather than in MEDIA_ROOT: a subscriber list
is personal data, and the media folder is served to anyone who guesses a name. It also means
the web process and the task worker see the same file without shared storage.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Import(models.Model):
    """One uploaded export file, its dry run, its run and its report."""

    class Kind(models.TextChoices):
        SUBSTACK = "substack", _("Substack export (.zip)")
        GHOST = "ghost", _("Ghost export (.json, or the members .csv)")
        MAILCHIMP = "mailchimp", _("Mailchimp audience (.csv or .zip)")
        BEEHIIV = "beehiiv", _("beehiiv subscribers (.csv)")
        CSV = "csv", _("A list of addresses from any other tool (.csv)")

    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking (dry run)")
        CHECKED = "checked", _("Checked: waiting for confirmation")
        REFUSED = "refused", _("Refused: nothing imported")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("format"), max_length=20, choices=Kind)
    filename = models.CharField(_("file name"), max_length=255)
    data = models.BinaryField(_("file"), editable=False)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    status = models.CharField(
        _("status"), max_length=20, choices=Status, default=Status.CHECKING, db_index=True
    )
    newsletter = models.ForeignKey(
        "newsletter.Newsletter",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("newsletter"),
        help_text=_("Where subscribers go when the file names no newsletter of its own."),
    )
    old_site_url = models.URLField(
        _("old site address"),
        blank=True,
        help_text=_("Used to find images a Ghost export names relative to its own site."),
    )
    error = models.TextField(_("problem with the file"), blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    report = models.JSONField(
        _("report"), default=list, blank=True, help_text=_("One entry per row: what it does.")
    )
    progress_done = models.PositiveIntegerField(_("rows done"), default=0)
    progress_total = models.PositiveIntegerField(_("rows in all"), default=0)
    posts_author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"is_staff": True},
        verbose_name=_("author of the posts"),
        help_text=_("For posts the file names no author of (Substack's); else who uploaded it."),
    )
    images_asked_at = models.DateTimeField(
        _("images asked for"),
        null=True,
        blank=True,
        help_text=_("When an editor last pressed Fetch images; empty once the task is done."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self):
        return f"{self.get_kind_display()}: {self.filename}"

    @property
    def is_busy(self) -> bool:
        """Return True while a task is working on this import."""
        return self.status in {self.Status.CHECKING, self.Status.RUNNING}

    # A fetch not done after this long is taken for one whose worker died: the page stops
    # watching it, and Fetch images can be pressed again.
    IMAGES_WATCHED_FOR = timedelta(minutes=30)

    def images_busy(self) -> bool:
        """Return True while the images an editor asked for are being fetched."""
        return bool(
            self.images_asked_at and timezone.now() - self.images_asked_at < self.IMAGES_WATCHED_FOR
        )

    def percent_done(self) -> int:
        """Return how far the run is, 0 to 100."""
        if not self.progress_total:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class ImportedPost(models.Model):
    """Which of our posts came from which post on the other platform: running an import again
    finds it here and updates it instead of making a second one."""

    source = models.CharField(_("platform"), max_length=20, choices=Import.Kind)
    source_id = models.CharField(_("id there"), max_length=100)
    post = models.OneToOneField(
        "posts.Post", on_delete=models.CASCADE, related_name="+", verbose_name=_("post")
    )
    source_html = models.TextField(_("body as imported"), blank=True)
    imported_at = models.DateTimeField(_("imported"), default=timezone.now)

    class Meta:
        verbose_name = _("imported post")
        verbose_name_plural = _("imported posts")
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="imports_post_once"),
        ]

    def __str__(self):
        return f"{self.source} {self.source_id} → {self.post_id}"


class OldAddress(models.Model):
    """A path a post had on the old platform; it answers with a permanent redirect to the post
    when nothing on this site answers it (imports.middleware)."""

    path = models.CharField(_("old path"), max_length=300, unique=True)
    post = models.ForeignKey(
        "posts.Post", on_delete=models.CASCADE, related_name="+", verbose_name=_("post")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("old address")
        verbose_name_plural = _("old addresses")

    def __str__(self):
        return f"{self.path} → {self.post_id}"


class RemoteImage(models.Model):
    """An image an imported post shows from another host, until it is fetched into ours."""

    class Role(models.TextChoices):
        COVER = "cover", _("Cover")
        BODY = "body", _("In the body")

    class Status(models.TextChoices):
        WAITING = "waiting", _("Not fetched yet")
        FETCHED = "fetched", _("Fetched")
        FAILED = "failed", _("Could not fetch")

    source_import = models.ForeignKey(
        Import, on_delete=models.CASCADE, related_name="images", verbose_name=_("import")
    )
    post = models.ForeignKey(
        "posts.Post", on_delete=models.CASCADE, related_name="+", verbose_name=_("post")
    )
    url = models.URLField(_("address"), max_length=1000)
    alt = models.CharField(_("alt text"), max_length=250, blank=True)
    role = models.CharField(_("role"), max_length=10, choices=Role, default=Role.BODY)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.WAITING)
    error = models.CharField(_("problem"), max_length=300, blank=True)
    body_image = models.ForeignKey(
        "posts.BodyImage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("stored as"),
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("remote image")
        verbose_name_plural = _("remote images")
        constraints = [
            models.UniqueConstraint(
                fields=["post", "url", "role"], name="imports_remoteimage_once"
            ),
        ]

    def __str__(self):
        return self.url
