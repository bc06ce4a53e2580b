from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Revisions kept per post; the oldest go when a save passes this many.
KEEP_REVISIONS = 50


class PostRevision(models.Model):
    """The words of a post as one save left them: kept so they can be compared and restored."""

    class Kind(models.TextChoices):
        SAVE = "save", _("Saved")
        RESTORE = "restore", _("Restored")
        STATUS = "status", _("Published or unpublished")

    post = models.ForeignKey(
        "posts.Post", on_delete=models.CASCADE, related_name="revisions", verbose_name=_("post")
    )
    version = models.PositiveIntegerField(
        _("version"), help_text=_("The post's version number this save gave it.")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind, default=Kind.SAVE)
    restored_from = models.PositiveIntegerField(_("restored from version"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=200)
    subtitle = models.CharField(_("subtitle"), max_length=300, blank=True)
    body = models.TextField(_("body"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("saved by"),
    )
    created_at = models.DateTimeField(_("saved at"), auto_now_add=True)

    class Meta:
        ordering = ["-version", "-id"]
        verbose_name = _("post revision")
        verbose_name_plural = _("post revisions")
        constraints = [
            models.UniqueConstraint(
                fields=["post", "version"], name="posts_revision_one_per_version"
            )
        ]

    def __str__(self):
        return f"{self.post_id} v{self.version}"

    @property
    def author_name(self) -> str:
        """Who saved it, as the admin names people."""
        return self.author.public_name if self.author else str(_("an editor not recorded"))


class PostDraft(models.Model):
    """One editor's autosaved, not yet saved, words for one post.

    Autosave writes here and never to the post, so what readers see changes only on a real
    save. The edit page offers it back; the preview can show it.
    """

    post = models.ForeignKey(
        "posts.Post", on_delete=models.CASCADE, related_name="drafts", verbose_name=_("post")
    )
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("editor"),
    )
    base_version = models.PositiveIntegerField(
        _("based on version"), help_text=_("The post's version the editor was changing.")
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    subtitle = models.CharField(_("subtitle"), max_length=300, blank=True)
    body = models.TextField(_("body"), blank=True)
    saved_at = models.DateTimeField(_("autosaved at"), auto_now=True)

    class Meta:
        verbose_name = _("autosaved draft")
        verbose_name_plural = _("autosaved drafts")
        constraints = [
            models.UniqueConstraint(fields=["post", "editor"], name="posts_draft_one_per_editor")
        ]

    def __str__(self):
        return f"{self.post_id} by {self.editor_id}"
