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
        widgets = {
            "title": forms.TextInput(attrs={"class": "vTextField ff-wide"}),
            "subtitle": forms.TextInput(attrs={"class": "vTextField ff-wide"}),
            "cover_alt": forms.TextInput(attrs={"class": "vTextField ff-wide"}),
            "daily_takeaway": forms.Textarea(attrs={"class": "vLargeTextField", "rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        given = kwargs.get("initial") or {}
        super().__init__(*args, **kwargs)
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
