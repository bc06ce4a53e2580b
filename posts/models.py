"""Posts, tags, the About page and thumbs up: the models of what readers read.

One module past 500 lines because the post carries its own derived fields (sanitised body, plain
text, opening, reading time, search vector, cover renditions) and the querysets that say who may
see it; splitting them from the model would scatter the one rule of what is published.
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from accounts.images import clean_image
from posts.images import delete_renditions, make_renditions
from posts.richtext import (
    HIGHLIGHT_START,
    HIGHLIGHT_STOP,
    html_to_text,
    opening_html,
    reading_minutes,
    sanitize_body,
)

SEARCH_CONFIG = "english"
_NOT_LOADED = object()


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    description = models.CharField(
        _("description"),
        max_length=300,
        blank=True,
        help_text=_("One or two sentences shown on the tag's page."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("posts:tag", kwargs={"slug": self.slug})


def card_prefetches() -> tuple:
    """The prefetches a post card needs: its authors in display order, and its tags."""
    from accounts.models import User

    authors = User.objects.order_by(Lower("display_name"), "email")
    return (Prefetch("authors", queryset=authors), "tags")


class PostQuerySet(models.QuerySet):
    def published(self):
        """Posts readers can see: published or scheduled, with a publish time already past."""
        return self.filter(
            status__in=[Post.Status.PUBLISHED, Post.Status.SCHEDULED],
            published_at__lte=timezone.now(),
        )

    def scheduled(self):
        """Posts that will appear by themselves at a publish time still to come."""
        return self.exclude(status=Post.Status.DRAFT).filter(published_at__gt=timezone.now())

    def drafts(self):
        """Posts that are neither live nor scheduled: readers cannot see them, now or later."""
        return self.filter(Q(status=Post.Status.DRAFT) | Q(published_at__isnull=True))

    def visible_to(self, user):
        """Published posts, plus drafts and scheduled posts for staff previewing them."""
        if user.is_authenticated and user.is_staff:
            return self.all()
        return self.published()

    def featured(self):
        """Published posts the editors chose to show first, newest first."""
        return self.published().filter(is_featured=True)

    def for_cards(self):
        """Everything a post card shows (authors, tags) in a fixed number of queries."""
        return self.prefetch_related(*card_prefetches())

    def without_bodies(self):
        """Leave the long text columns out, for lists that never show them."""
        return self.defer("body", "body_text", "body_opening")

    def with_thumbs_up(self, user=None):
        """Annotate thumbs_up_count, and viewer_gave_thumbs_up for user (False if anonymous)."""
        count = (
            ThumbsUp.objects.filter(post=OuterRef("pk"))
            .order_by()
            .values("post")
            .annotate(n=Count("*"))
            .values("n")
        )
        queryset = self.annotate(thumbs_up_count=Coalesce(Subquery(count), 0))
        if user is not None and user.is_authenticated:
            given = ThumbsUp.objects.filter(post=OuterRef("pk"), user=user)
            return queryset.annotate(viewer_gave_thumbs_up=Exists(given))
        return queryset.annotate(viewer_gave_thumbs_up=Value(False))

    def for_page(self, user):
        """The post page's query: the post, its counts, and what this viewer may do."""
        from accounts.models import Subscription, User

        queryset = self.visible_to(user).for_cards().with_thumbs_up(user)
        loaded = User.subscription.related
        if user.is_authenticated and loaded.is_cached(user):
            # The subscription came with the reader: no subquery.
            subscription = loaded.get_cached_value(user)
            active = subscription is not None and subscription.status == Subscription.Status.ACTIVE
            return queryset.annotate(viewer_is_subscriber=Value(active))
        if user.is_authenticated:
            active = Subscription.objects.filter(user=user, status=Subscription.Status.ACTIVE)
            return queryset.annotate(viewer_is_subscriber=Exists(active))
        return queryset.annotate(viewer_is_subscriber=Value(False))

    def related_to(self, post, *, limit: int = 3):
        """Published posts sharing the most tags with post, newest first among equals."""
        others = self.published().without_bodies().exclude(pk=post.pk)
        tag_ids = [tag.pk for tag in post.tags.all()]
        if tag_ids:
            others = others.annotate(
                shared_tags=Count("tags", filter=Q(tags__in=tag_ids), distinct=True)
            ).order_by("-shared_tags", "-published_at", "-id")
        return others[:limit]

    def search(self, text: str):
        """Published posts matching text, best first, with highlighted title and snippet.

        text is read as a web search (quotes, OR, -word); odd input never raises, it just
        matches nothing. Highlights are wrapped in HIGHLIGHT_START/STOP markers, to be escaped
        and turned into <mark> by the template tag `highlight`.
        """
        query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
        marks = {"start_sel": HIGHLIGHT_START, "stop_sel": HIGHLIGHT_STOP}
        snippet_options = {
            "config": SEARCH_CONFIG,
            "max_words": 35,
            "min_words": 15,
            "max_fragments": 2,
            "fragment_delimiter": " … ",
            **marks,
        }
        return (
            self.published()
            .filter(search_vector=query)
            .annotate(
                rank=SearchRank(F("search_vector"), query),
                title_highlighted=SearchHeadline(
                    "title", query, config=SEARCH_CONFIG, highlight_all=True, **marks
                ),
                # Subscribers-only text must not leak through a snippet: use the subtitle.
                snippet=models.Case(
                    models.When(
                        audience=Post.Audience.SUBSCRIBERS,
                        then=SearchHeadline(
                            "subtitle", query, config=SEARCH_CONFIG, highlight_all=True, **marks
                        ),
                    ),
                    default=SearchHeadline("body_text", query, **snippet_options),
                ),
            )
            .order_by("-rank", "-published_at", "-id")
        )


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
    cover = models.ImageField(
        _("cover image"),
        upload_to="covers/%Y/%m/",
        blank=True,
        help_text=_(
            "JPEG, PNG or WebP. Location and camera data are removed and the picture is turned "
            "upright when you save."
        ),
    )
    cover_alt = models.CharField(
        _("cover alt text"),
        max_length=250,
        blank=True,
        help_text=_("Describe the image for readers who cannot see it."),
    )
    cover_width = models.PositiveIntegerField(_("cover width"), null=True, editable=False)
    cover_height = models.PositiveIntegerField(_("cover height"), null=True, editable=False)
    cover_renditions = models.JSONField(
        _("cover renditions"),
        default=list,
        blank=True,
        editable=False,
        help_text=_("WebP copies of the cover at several widths, made when it is saved."),
    )
    body = models.TextField(
        _("body"),
        blank=True,
        help_text=_("The article. Scripts, styles and unsafe links are removed when you save."),
    )
    body_text = models.TextField(_("body as text"), blank=True, editable=False)
    body_opening = models.TextField(
        _("opening"),
        blank=True,
        editable=False,
        help_text=_("The start of the body, shown before the gate on subscribers-only posts."),
    )
    reading_minutes = models.PositiveSmallIntegerField(
        _("reading time (minutes)"), default=1, editable=False
    )
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
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        editable=False,
        help_text=_("Moves on with every save from the editor, so a stale form is noticed."),
    )
    # Kept by PostgreSQL itself, so bulk updates and raw SQL can never leave it stale.
    search_vector = models.GeneratedField(
        expression=SearchVector("title", weight="A", config=SEARCH_CONFIG)
        + SearchVector("subtitle", weight="B", config=SEARCH_CONFIG)
        + SearchVector("body_text", weight="C", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        indexes = [GinIndex(fields=["search_vector"], name="posts_post_search_gin")]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        """Save, keeping every derived field consistent with what the editor wrote.

        The body is sanitised and its text, opening and reading time derived; the status is
        put in step with the publish time; a new cover is replaced by its clean copy and gets
        its renditions.
        """
        update_fields = kwargs.get("update_fields")
        touched = set(update_fields) if update_fields is not None else None

        self.body = sanitize_body(self.body)
        self.body_text = html_to_text(self.body)
        self.body_opening = opening_html(self.body)
        self.reading_minutes = reading_minutes(self.body_text)
        self._normalise_schedule()

        new_renditions: list[dict] = []
        obsolete: list[str] = []
        if (touched is None or "cover" in touched) and self._cover_changed():
            obsolete = self._process_cover()
            new_renditions = list(self.cover_renditions)

        if touched is not None:
            if "body" in touched:
                touched |= {"body_text", "body_opening", "reading_minutes"}
            if "cover" in touched:
                touched |= {"cover_renditions", "cover_width", "cover_height"}
            if touched & {"status", "published_at"}:
                touched |= {"status", "published_at"}
            kwargs["update_fields"] = touched

        try:
            super().save(*args, **kwargs)
        except Exception:
            # Nothing saved half: files written for this save go when the row does not.
            delete_renditions(new_renditions)
            if new_renditions and self.cover and self.cover._committed:
                default_storage.delete(self.cover.name)
            raise
        self._loaded_cover = self.cover.name or ""
        if obsolete:
            transaction.on_commit(lambda: [default_storage.delete(name) for name in obsolete])

    def get_absolute_url(self):
        return reverse("posts:detail", kwargs={"slug": self.slug})

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The stored cover name, to notice a new cover on save without another query.
        instance._loaded_cover = instance.__dict__.get("cover", _NOT_LOADED)
        return instance

    def is_published(self) -> bool:
        """Return True if readers can see this post."""
        return (
            self.status in {self.Status.PUBLISHED, self.Status.SCHEDULED}
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    is_published.boolean = True
    is_published.short_description = _("live")

    def is_scheduled(self) -> bool:
        """Return True if the post will appear by itself at a future publish time."""
        return (
            self.status != self.Status.DRAFT
            and self.published_at is not None
            and self.published_at > timezone.now()
        )

    @property
    def state(self) -> "Post.Status":
        """Return what the post is now, which the stored status stops saying once time passes.

        A scheduled post whose publish time has come is PUBLISHED, though its row still says
        "scheduled" until it is next saved. Every screen that names a post's status uses this,
        and it agrees with `published()`, `scheduled()` and `drafts()`.
        """
        if self.is_published():
            return self.Status.PUBLISHED
        if self.is_scheduled():
            return self.Status.SCHEDULED
        return self.Status.DRAFT

    @property
    def is_for_subscribers(self) -> bool:
        """Return True if only subscribers may read the whole post."""
        return self.audience == self.Audience.SUBSCRIBERS

    def is_readable_by(self, user) -> bool:
        """Return True if user may read the whole body.

        On querysets from `for_page` the subscription check costs no query.
        """
        if not self.is_for_subscribers:
            return True
        if not user.is_authenticated:
            return False
        if user.is_staff:
            return True
        if hasattr(self, "viewer_is_subscriber"):
            return self.viewer_is_subscriber
        subscription = getattr(user, "subscription", None)
        return bool(subscription and subscription.is_active)

    @cached_property
    def author_list(self) -> list:
        """The authors, in display order (prefetched by `for_cards`)."""
        return list(self.authors.all())

    @property
    def description(self) -> str:
        """A one-line summary for search engines and link previews."""
        if self.subtitle:
            return self.subtitle
        first = (self.body_text or "").split("\n\n", 1)[0]
        return first[:200].rsplit(" ", 1)[0] + "…" if len(first) > 200 else first

    def clean(self):
        super().clean()
        if self.cover and not self.cover_alt.strip():
            raise ValidationError(
                {"cover_alt": _("Describe the cover for readers who cannot see it.")}
            )
        if self.status == self.Status.SCHEDULED and not self.published_at:
            raise ValidationError(
                {"published_at": _("Choose when this post should appear.")}, code="required"
            )

    # --- Derived fields, kept consistent on every save. ---

    def _normalise_schedule(self) -> None:
        if self.status == self.Status.DRAFT:
            return
        if self.published_at is None:
            self.published_at = timezone.now()
        self.status = (
            self.Status.SCHEDULED if self.published_at > timezone.now() else self.Status.PUBLISHED
        )

    def _cover_changed(self) -> bool:
        if self.cover and not self.cover._committed:
            return True
        loaded = getattr(self, "_loaded_cover", "")
        if loaded is _NOT_LOADED:
            return False
        return (self.cover.name or "") != (loaded or "")

    def _process_cover(self) -> list[str]:
        """Replace a new cover by its clean copy and make its renditions.

        Return the names of files to delete once the save commits (the previous renditions
        and, when a raw file was already in storage, that file with its metadata).
        """
        obsolete = [r["name"] for r in self.cover_renditions or [] if r.get("name")]
        if not self.cover:
            self.cover_renditions, self.cover_width, self.cover_height = [], None, None
            return obsolete
        if self.cover._committed:
            obsolete.append(self.cover.name)
        self.cover.open("rb")
        try:
            clean = clean_image(self.cover.file)
        finally:
            if self.cover._committed:
                self.cover.close()
        stem = (self.slug or "cover")[:40]
        self.cover_renditions = make_renditions(clean.content, stem=stem)
        self.cover_width, self.cover_height = clean.width, clean.height
        self.cover = ContentFile(clean.content, name=f"{stem}.{clean.extension}")
        return obsolete

    def rebuild_cover(self) -> None:
        """Clean the stored cover again and remake its renditions, e.g. after new widths."""
        self._loaded_cover = ""  # look like a new cover to save()
        self.save()

    # --- Cover helpers for templates. ---

    @property
    def cover_srcset(self) -> str:
        """The WebP renditions as a srcset value."""
        return ", ".join(
            f"{default_storage.url(r['name'])} {r['width']}w" for r in self.cover_renditions or []
        )

    def cover_rendition_url(self, min_width: int = 0) -> str:
        """URL of the smallest rendition at least min_width wide (or the cover itself)."""
        renditions = sorted(self.cover_renditions or [], key=lambda r: r["width"])
        for rendition in renditions:
            if rendition["width"] >= min_width:
                return default_storage.url(rendition["name"])
        return self.cover.url if self.cover else ""


# Statements sent together run as one transaction: the write, then the count that includes it
# (one execute() may carry both: Django binds parameters on the client by default).
# The insert skips an existing row (the unique constraint decides) and deleting a missing row
# does nothing, so repeating either is harmless.
_GIVE_THUMBS_UP = """
INSERT INTO posts_thumbsup (post_id, user_id, created_at) VALUES (%(post)s, %(user)s, %(now)s)
ON CONFLICT ON CONSTRAINT posts_thumbsup_one_per_reader DO NOTHING;
SELECT count(*) FROM posts_thumbsup WHERE post_id = %(post)s;
"""
_TAKE_BACK_THUMBS_UP = """
DELETE FROM posts_thumbsup WHERE post_id = %(post)s AND user_id = %(user)s;
SELECT count(*) FROM posts_thumbsup WHERE post_id = %(post)s;
"""


class ThumbsUpQuerySet(models.QuerySet):
    def set_given(self, *, post_id: int, user_id: int, given: bool) -> int:
        """Give (or take back) user_id's thumbs up on post_id; return the post's count right
        after, in one round trip to PostgreSQL."""
        sql = _GIVE_THUMBS_UP if given else _TAKE_BACK_THUMBS_UP
        with connection.cursor() as cursor:
            cursor.execute(sql, {"post": post_id, "user": user_id, "now": timezone.now()})
            cursor.nextset()
            return cursor.fetchone()[0]


class ThumbsUp(models.Model):
    """One reader's thumbs up on one post."""

    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="thumbs_ups", verbose_name=_("post")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="thumbs_ups",
        verbose_name=_("reader"),
    )
    created_at = models.DateTimeField(_("given"), default=timezone.now)

    objects = ThumbsUpQuerySet.as_manager()

    class Meta:
        verbose_name = _("thumbs up")
        verbose_name_plural = _("thumbs up")
        constraints = [
            models.UniqueConstraint(fields=["post", "user"], name="posts_thumbsup_one_per_reader")
        ]

    def __str__(self):
        return f"👍 {self.user} on {self.post}"


# The page cache owns its version rows (posts/pagecache/models.py); imported here, they are
# part of the posts app and its migrations.
from posts.pagecache.models import PageVersion  # noqa: E402, F401
from posts.revisions.models import PostDraft, PostRevision  # noqa: E402, F401


class Page(models.Model):
    """A standing page of the site, such as About, written by the editors in the admin."""

    slug = models.SlugField(
        _("address"), unique=True, help_text=_("“about” is the page the footer links to.")
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(
        _("text"), help_text=_("Plain text. A blank line starts a new paragraph.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        ordering = ["title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("posts:page", kwargs={"slug": self.slug})


class BodyImage(models.Model):
    """An image placed inside a post's body: the WebP renditions our pipeline made of one upload.

    A body refers to it by the file names of its renditions (``body/<key>-…``); the sanitiser
    keeps an ``<img>`` only when its key names a row here, and writes its srcset, width and
    height from the row, so no image from elsewhere can appear in a body.
    """

    key = models.CharField(_("key"), max_length=32, unique=True, editable=False)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    renditions = models.JSONField(
        _("renditions"), default=list, help_text=_("WebP copies: name, width and height of each.")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("body image")
        verbose_name_plural = _("body images")

    def __str__(self):
        return f"{self.key} ({self.width} × {self.height})"

    def largest(self) -> dict:
        """Return the widest rendition (the image at its stored size)."""
        return max(self.renditions, key=lambda rendition: rendition["width"])

    def rendition_for(self, width: int) -> dict:
        """Return the narrowest rendition at least width pixels wide, else the widest."""
        wide_enough = [r for r in self.renditions if r["width"] >= width]
        if wide_enough:
            return min(wide_enough, key=lambda rendition: rendition["width"])
        return self.largest()
