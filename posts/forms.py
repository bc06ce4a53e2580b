from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_prose_editor.fields import ProseEditorFormField
from django_prose_editor.widgets import AdminProseEditorWidget

from accounts.images import CheckedImageField
from posts.models import Post
from posts.richtext import EDITOR_EXTENSIONS, images_without_alt, sanitize_body
from posts.services import EditConflict, autosave_post, lock_for_edit

# The longest body autosave or a save accepts, in characters of HTML: far above any article.
BODY_MAX_LENGTH = 500_000

PUBLISH_CHOICES = [
    (Post.Status.DRAFT, _("Keep as a draft: only staff can see it")),
    (Post.Status.PUBLISHED, _("Publish on the site now (or keep it live)")),
    (Post.Status.SCHEDULED, _("Schedule: appear on the site by itself at the publish time")),
]

SEARCH_MAX_LENGTH = 200


def sanitize_edited_body(html: str) -> str:
    """Return the editor's body sanitised, refusing it when an image has no alt text.

    The editor asks for alt text when an image goes in, and checks again before the form is
    sent; this catches the rest (the HTML source view, a page without JavaScript). Refusing
    keeps the image in the form, where quietly sanitising would drop it.
    """
    if missing := images_without_alt(html):
        raise ValidationError(
            ngettext(
                "An image in the body has no alt text. Describe it for readers who cannot "
                "see it: double-click the image in the editor (or select it and press the image "
                "button) and fill in “Alt text”.",
                "%(count)d images in the body have no alt text. Describe each for readers "
                "who cannot see it: double-click an image in the editor (or select it and press "
                "the image button) and fill in “Alt text”.",
                missing,
            )
            % {"count": missing},
            code="image_without_alt",
        )
    return sanitize_body(html)


class PostAdminForm(forms.ModelForm):
    # The editor's toolbar and our sanitiser share one allow-list, so what an editor can make
    # is exactly what survives the save; the sanitiser runs again in Post.save() for every
    # other way a body can arrive.
    body = ProseEditorFormField(
        config={
            "extensions": {
                **EDITOR_EXTENSIONS,
                "BodyFigure": {"uploadUrl": reverse_lazy("admin:posts_post_body_image")},
            }
        },
        sanitize=sanitize_edited_body,
        widget=AdminProseEditorWidget,
        required=False,
        max_length=BODY_MAX_LENGTH,
        label=_("Body"),
        help_text=format_lazy(
            "{} {}",
            Post._meta.get_field("body").help_text,
            _(
                "To mark where the opening ends, use the toolbar's “continue reading” "
                "divider or type <code>&lt;!--more--&gt;</code> in a paragraph of its own: "
                "subscribers-only posts show readers who may not read on the part before it, "
                "and teaser emails stop there. Images (upload, paste or drop them; each needs "
                "alt text), buttons, callouts and the poll's place are on the toolbar too."
            ),
        ),
    )

    # The version the editor started from: a save from an older one is refused and told who
    # changed the post meanwhile (optimistic locking, checked under a row lock in clean()).
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Post
        fields = [
            "title",
            "slug",
            "subtitle",
            "cover",
            "cover_alt",
            "body",
            "daily_takeaway",
            "authors",
            "tags",
            "status",
            "published_at",
            "audience",
            "is_featured",
            "comments_mode",
        ]
        field_classes = {"cover": CheckedImageField}
        labels = {"status": _("On the site")}
        widgets = {
            "status": forms.RadioSelect(choices=PUBLISH_CHOICES),
            "title": forms.TextInput(attrs={"class": "vTextField ff-wide"}),
            "subtitle": forms.TextInput(attrs={"class": "vTextField ff-wide"}),
            "cover_alt": forms.TextInput(attrs={"class": "vTextField ff-wide"}),
            "daily_takeaway": forms.Textarea(attrs={"class": "vLargeTextField", "rows": 4}),
        }

    # An editor's autosaved copy to open the form with (set by the admin), or None.
    autosaved_draft = None

    def __init__(self, *args, **kwargs):
        given = kwargs.get("initial") or {}
        super().__init__(*args, **kwargs)
        # Set by clean(): the row as locked for this save, and any conflict with the version
        # the editor started from (conflict_base).
        self.conflict: EditConflict | None = None
        self.conflict_base: int | None = None
        self.locked_post: Post | None = None
        if "status" in self.fields:
            self.fields["status"].choices = PUBLISH_CHOICES
        self.initial.setdefault("base_version", self.instance.version)
        draft = self.autosaved_draft
        if draft is not None and not self.is_bound:
            self.initial.update(
                title=draft.title,
                subtitle=draft.subtitle,
                body=draft.body,
                base_version=draft.base_version,
            )
        if self.instance.pk and "status" not in given:
            # A scheduled post whose time has come is published: say so, not what the row
            # said before the clock passed its publish time.
            self.initial["status"] = self.instance.state
        if "authors" in self.fields:
            self.fields["authors"].label_from_instance = lambda user: (
                f"{user.public_name} ({user.email})"
            )

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            self._check_version(cleaned)
        status = cleaned.get("status")
        published_at = cleaned.get("published_at")
        schedule_changed = {"status", "published_at"} & set(self.changed_data)
        if (
            status == Post.Status.SCHEDULED
            and published_at
            and published_at <= timezone.now()
            and schedule_changed
        ):
            self.add_error(
                "published_at",
                _(
                    "This time has already passed. Choose a time in the future, or set the "
                    "status to Published to publish now."
                ),
            )
        return cleaned

    def _check_version(self, cleaned) -> None:
        """Lock the post's row and refuse a save from a version someone else moved past.

        The same words sent twice (a double click on Save or Publish) are no conflict: nothing
        would be lost. After a refusal the form carries the current version, so saving again
        on purpose replaces the other editor's words, which stay in the revisions.
        """
        try:
            self.locked_post = lock_for_edit(
                post_id=self.instance.pk, base_version=cleaned.get("base_version")
            )
        except EditConflict as conflict:
            current = conflict.post
            same = (
                cleaned.get("title") == current.title
                and cleaned.get("subtitle", "") == current.subtitle
                and cleaned.get("body", "") == current.body
                and cleaned.get("status") in {current.status, current.state}
            )
            self.locked_post = current
            if same:
                cleaned["base_version"] = current.version
                return
            self.conflict = conflict
            self.conflict_base = cleaned.get("base_version")
            data = self.data.copy()
            data[self.add_prefix("base_version")] = current.version
            self.data = data
            self.add_error(
                None,
                format_lazy(
                    "{} {}",
                    conflict.message,
                    _(
                        "Your changes are not saved yet and are still in this form. Compare "
                        "them with the current version; to replace it with yours, save again."
                    ),
                ),
            )


class PostAutosaveForm(forms.Form):
    """What the edit page's script posts every few seconds: the words, and their version."""

    base_version = forms.IntegerField(min_value=1)
    title = forms.CharField(max_length=200, required=False)
    subtitle = forms.CharField(max_length=300, required=False)
    body = forms.CharField(
        max_length=BODY_MAX_LENGTH,
        required=False,
        strip=False,
        error_messages={
            "max_length": _(
                "The body is too long to keep (over %(limit_value)d characters). Split the "
                "article, or remove pasted content."
            )
        },
    )

    def save(self, *, post: Post, editor):
        """Keep the words as editor's draft copy of post; raise EditConflict if it moved on."""
        data = self.cleaned_data
        return autosave_post(
            post=post,
            editor=editor,
            base_version=data["base_version"],
            title=data["title"],
            subtitle=data["subtitle"],
            body=data["body"],
        )


class _BodyImageField(CheckedImageField):
    def to_python(self, data):
        # An empty file is no puzzle about formats: say what it is.
        if data not in self.empty_values and getattr(data, "size", None) == 0:
            raise ValidationError(self.error_messages["empty"], code="empty")
        return super().to_python(data)


class BodyImageUploadForm(forms.Form):
    """One image for the body, from the editor's image button, a paste or a drop."""

    image = _BodyImageField(
        label=_("Image"),
        error_messages={
            "required": _("No image arrived. Choose a JPEG, PNG or WebP picture and try again."),
            "empty": _("This file is empty. Choose a JPEG, PNG or WebP picture."),
        },
    )


class ThumbsUpForm(forms.Form):
    """The reader's wish, not a toggle: a double submit leaves the same state, not the opposite."""

    given = forms.TypedChoiceField(
        choices=[("1", "1"), ("0", "0")], coerce=lambda value: value == "1"
    )


def clean_search_query(raw: str | None) -> str:
    """Return a search query safe to hand PostgreSQL: no NUL bytes, trimmed, bounded length."""
    text = (raw or "").replace("\x00", " ")
    text = " ".join(text.split())
    return text[:SEARCH_MAX_LENGTH]
