"""Threaded comments on posts.

How a thread is stored and read back
------------------------------------
Every comment keeps two tree columns besides ``parent``:

* ``root``: the top-level comment of its thread (NULL on a top-level comment itself);
* ``depth``: 0 for a top-level comment, 1 for a reply to it, and so on.

A page of the discussion is then two queries whatever its size: one for the page's top-level
comments (sorted and sliced in SQL), and one for every descendant of those comments down to the
depth the page shows (``root_id IN (...) AND depth <= N``). The tree is assembled in Python from
that one list (``comments.selectors``). A thread page for any comment reads its root's thread the
same way and cuts out the subtree. No query per comment, no recursive SQL, and both columns are
written once, at insert, because a comment never moves. (A materialised path would also give
subtrees in SQL, but nothing here needs them: a thread is small next to a post's discussion,
and the (root, depth) index serves both reads.)

Moderation state (``status``) and the author's own deletion (``deleted_at``) are separate: an
editor can hide or remove a comment the author later deletes, and the thread keeps its shape
either way, with a placeholder where the text was.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comments.text import render_body

MAX_LENGTH = 5000
EDIT_WINDOW = timedelta(minutes=15)


class CommentSettings(models.Model):
    """The moderation switches editors change in the admin, without a deploy. One row."""

    hold_first_comments = models.BooleanField(
        _("hold first comments"),
        default=True,
        help_text=_(
            "Hold a reader's comments for review until an editor approved one of them. "
            "Editors' comments are never held."
        ),
    )
    max_links = models.PositiveSmallIntegerField(
        _("most links before holding"),
        default=2,
        help_text=_("A comment with more links than this waits for review."),
    )
    blocked_words = models.TextField(
        _("blocked words"),
        blank=True,
        help_text=_(
            "One word or phrase per line. A comment containing any of them (in any letter case, "
            "as a whole word) waits for review."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("comment settings")
        verbose_name_plural = _("comment settings")

    def __str__(self):
        return str(_("Comment settings"))

    @classmethod
    def load(cls) -> "CommentSettings":
        """Return the settings row, creating it with the defaults on first use."""
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj

    def blocked_word_list(self) -> list[str]:
        """Return the block list as clean, non-empty entries."""
        return [line.strip() for line in self.blocked_words.splitlines() if line.strip()]


class Commenter(models.Model):
    """What the discussion knows about one reader: banned or not, trusted or not, and whether
    they want an email when someone replies to them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="commenter",
        verbose_name=_("reader"),
    )
    is_banned = models.BooleanField(
        _("banned"), default=False, help_text=_("A banned reader can read but not comment.")
    )
    ban_reason = models.CharField(
        _("ban reason"),
        max_length=300,
        blank=True,
        help_text=_("Shown to the reader when they try to comment."),
    )
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("banned by"),
    )
    banned_at = models.DateTimeField(_("banned at"), null=True, blank=True)
    is_trusted = models.BooleanField(
        _("trusted"),
        default=False,
        help_text=_(
            "Set when an editor approves one of their comments; their comments are no longer "
            "held as first comments."
        ),
    )
    notify_replies = models.BooleanField(
        _("email me replies"),
        default=False,
        help_text=_("Send an email when someone replies to one of their comments."),
    )

    class Meta:
        verbose_name = _("commenter")
        verbose_name_plural = _("commenters")

    def __str__(self):
        return self.user.email

    @classmethod
    def for_user(cls, user) -> "Commenter | None":
        """Return the reader's record without creating one (None for anonymous readers)."""
        if not user.is_authenticated:
            return None
        return cls.objects.filter(user=user).first()


def _readable_q(user) -> Q:
    query = Q(status=Comment.Status.VISIBLE, deleted_at=None)
    if user.is_authenticated:
        query |= Q(
            author=user,
            status__in=[Comment.Status.HELD, Comment.Status.HIDDEN],
            deleted_at=None,
        )
    return query


class CommentQuerySet(models.QuerySet):
    def public(self):
        """Comments everyone may read."""
        return self.filter(status=Comment.Status.VISIBLE, deleted_at=None)

    def awaiting_review(self):
        """Comments an editor should look at: held, or reported with a report still open. Not
        those their author deleted: they are gone from the site, nothing is left to review."""
        open_report = CommentReport.objects.filter(comment=OuterRef("pk"), resolved_at=None)
        return self.filter(Q(status=Comment.Status.HELD) | Q(Exists(open_report)), deleted_at=None)

    def readable_by(self, user):
        """Comments this viewer sees in full: the public ones, plus their own held or hidden."""
        return self.filter(_readable_q(user))

    def roots_for(self, *, post, user):
        """Top-level comments of post that the viewer's page shows: the ones they may read, and
        deleted or moderated ones that still have a readable reply (shown as placeholders)."""
        readable_reply = Comment.objects.filter(root=OuterRef("pk")).readable_by(user)
        return (
            self.filter(post=post, parent=None)
            .filter(_readable_q(user) | Q(Exists(readable_reply)))
            .select_related("author")
        )


class Comment(models.Model):
    """One comment or reply on a post."""

    class Status(models.TextChoices):
        VISIBLE = "visible", _("Visible")
        HELD = "held", _("Held for review")
        HIDDEN = "hidden", _("Hidden by editors")
        REMOVED = "removed", _("Removed by editors")

    class Sort(models.TextChoices):
        NEWEST = "newest", _("Newest")
        OLDEST = "oldest", _("Oldest")
        TOP = "top", _("Top")

    post = models.ForeignKey(
        "posts.Post", on_delete=models.CASCADE, related_name="comments", verbose_name=_("post")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comments",
        verbose_name=_("author"),
        help_text=_("Empty when the reader deleted their account; the comment stays."),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("in reply to"),
    )
    root = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="thread",
        verbose_name=_("thread"),
        help_text=_("The top-level comment of this thread; empty on a top-level comment."),
    )
    depth = models.PositiveSmallIntegerField(_("depth"), default=0)
    body = models.TextField(_("text"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.VISIBLE, db_index=True
    )
    held_reason = models.CharField(
        _("why held"), max_length=200, blank=True, help_text=_("Why it waits for review.")
    )
    like_count = models.PositiveIntegerField(_("likes"), default=0)
    created_at = models.DateTimeField(_("posted"), default=timezone.now)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)
    deleted_at = models.DateTimeField(
        _("deleted by its author"), null=True, blank=True, db_index=True
    )
    moderated_at = models.DateTimeField(_("moderated"), null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moderated by"),
    )
    reply_notified_at = models.DateTimeField(
        _("reply email sent"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the parent's author was told about this reply; it is sent once."),
    )

    objects = CommentQuerySet.as_manager()

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["post", "-created_at"],
                condition=Q(parent=None),
                name="comments_top_level_by_time",
            ),
            models.Index(
                fields=["post", "-like_count"],
                condition=Q(parent=None),
                name="comments_top_level_by_likes",
            ),
            models.Index(fields=["root", "depth"], name="comments_thread_depth"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("body"), MAX_LENGTH),
                name="comments_body_max_length",
            ),
            # A comment is either top-level (no parent, no root, depth 0) or a reply (both set).
            models.CheckConstraint(
                condition=Q(parent__isnull=True, root__isnull=True, depth=0)
                | Q(parent__isnull=False, root__isnull=False, depth__gt=0),
                name="comments_tree_columns_agree",
            ),
        ]

    def __str__(self):
        excerpt = " ".join(self.body.split())[:60]
        return excerpt or str(_("(no text)"))

    def get_absolute_url(self):
        return (
            reverse("comments:thread", kwargs={"slug": self.post.slug, "pk": self.pk})
            + f"#comment-{self.pk}"
        )

    @property
    def body_html(self) -> str:
        """Return the text as safe HTML. Rendered when shown rather than stored, so every
        comment, including bulk-created and migrated ones, always goes through the current
        renderer; it is a few regular expressions per comment."""
        return render_body(self.body)

    @property
    def is_deleted(self) -> bool:
        """Return True if the author deleted this comment."""
        return self.deleted_at is not None

    @property
    def is_public(self) -> bool:
        """Return True if everyone may read this comment."""
        return self.status == self.Status.VISIBLE and not self.is_deleted

    @property
    def avatar_tone(self) -> int:
        """Return which of six avatar colours this author gets (stable per reader)."""
        return (self.author_id or 0) % 6

    @property
    def is_edited(self) -> bool:
        return self.edited_at is not None

    @property
    def author_is_editor(self) -> bool:
        """Return True if an editor wrote this (their comments carry a badge)."""
        return bool(self.author_id and self.author.is_staff)

    def is_readable_by(self, user) -> bool:
        """Return True if this viewer sees the text (public, or their own held/hidden one)."""
        if self.is_deleted:
            return False
        if self.status == self.Status.VISIBLE:
            return True
        return (
            self.status in {self.Status.HELD, self.Status.HIDDEN}
            and user.is_authenticated
            and self.author_id == user.pk
        )

    def accepts_replies(self) -> bool:
        """Return True if a reply to this comment may be written."""
        return self.is_public

    def edit_deadline(self):
        return self.created_at + EDIT_WINDOW

    def is_editable_by(self, user, *, now=None) -> bool:
        """Return True if user may still change the text: their own, live, within 15 minutes."""
        now = now or timezone.now()
        return (
            user.is_authenticated
            and self.author_id == user.pk
            and not self.is_deleted
            and self.status != self.Status.REMOVED
            and now <= self.edit_deadline()
        )

    def is_deletable_by(self, user) -> bool:
        return user.is_authenticated and self.author_id == user.pk and not self.is_deleted


class CommentLike(models.Model):
    """One reader's like on one comment. The unique constraint is what makes a double click or
    two tabs liking at the same moment count once."""

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="likes", verbose_name=_("comment")
    )
    # SET_NULL: a reader leaving does not change the counts others see.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="comment_likes",
        verbose_name=_("reader"),
    )
    created_at = models.DateTimeField(_("liked at"), default=timezone.now)

    class Meta:
        verbose_name = _("comment like")
        verbose_name_plural = _("comment likes")
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="comments_one_like_per_reader")
        ]

    def __str__(self):
        return f"{self.user_id} likes {self.comment_id}"


class CommentReport(models.Model):
    """A reader telling the editors a comment breaks the rules."""

    class Reason(models.TextChoices):
        SPAM = "spam", _("Spam or advertising")
        ABUSE = "abuse", _("Abusive or harassing")
        HATE = "hate", _("Hateful")
        MISINFORMATION = "misinformation", _("Misleading or false")
        OFF_TOPIC = "off_topic", _("Off topic")
        OTHER = "other", _("Something else")

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="reports", verbose_name=_("comment")
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="comment_reports",
        verbose_name=_("reported by"),
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason)
    details = models.CharField(_("details"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("reported at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )

    class Meta:
        verbose_name = _("comment report")
        verbose_name_plural = _("comment reports")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "reporter"], name="comments_one_report_per_reader"
            )
        ]

    def __str__(self):
        return f"{self.get_reason_display()}: {self.comment}"
