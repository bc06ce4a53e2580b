from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("posts:tag", kwargs={"slug": self.slug})


class PostQuerySet(models.QuerySet):
    def published(self):
        """Posts readers can see: published or scheduled, with a publish time already past."""
        return self.filter(
            status__in=[Post.Status.PUBLISHED, Post.Status.SCHEDULED],
            published_at__lte=timezone.now(),
        )

    def visible_to(self, user):
        """Published posts, plus drafts and scheduled posts for staff previewing them."""
        if user.is_authenticated and user.is_staff:
            return self.all()
        return self.published()


class Post(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        PUBLISHED = "published", _("Published")

    class Audience(models.TextChoices):
        EVERYONE = "everyone", _("Everyone")
        SUBSCRIBERS = "subscribers", _("Subscribers only")

    class CommentsMode(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed (read-only)")
        OFF = "off", _("Off")

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(
        _("slug"), max_length=200, unique=True, help_text=_("The post's URL. Keep it stable.")
    )
    subtitle = models.CharField(_("subtitle"), max_length=300, blank=True)
    cover = models.ImageField(_("cover image"), upload_to="covers/%Y/%m/", blank=True)
    cover_alt = models.CharField(
        _("cover alt text"),
        max_length=250,
        blank=True,
        help_text=_("Describe the image for readers who cannot see it."),
    )
    body = models.TextField(_("body"), blank=True, help_text=_("The article, as HTML."))
    daily_takeaway = models.TextField(
        _("daily takeaway"), blank=True, help_text=_("A short closing summary. Optional.")
    )
    authors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="posts",
        blank=True,
        limit_choices_to={"is_staff": True},
        verbose_name=_("authors"),
    )
    tags = models.ManyToManyField(Tag, related_name="posts", blank=True, verbose_name=_("tags"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status, default=Status.DRAFT, db_index=True
    )
    published_at = models.DateTimeField(
        _("publish time"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("Scheduled posts appear by themselves at this time."),
    )
    audience = models.CharField(
        _("audience"), max_length=20, choices=Audience, default=Audience.EVERYONE
    )
    comments_mode = models.CharField(
        _("comments"), max_length=10, choices=CommentsMode, default=CommentsMode.OPEN
    )
    is_featured = models.BooleanField(
        _("featured"), default=False, help_text=_("Shown first on the home page.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("posts:detail", kwargs={"slug": self.slug})

    def is_published(self) -> bool:
        """Return True if readers can see this post."""
        return (
            self.status in {self.Status.PUBLISHED, self.Status.SCHEDULED}
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )
