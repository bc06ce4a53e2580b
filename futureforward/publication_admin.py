"""The publication's settings in the admin (Settings › Publication): one row, no add or delete.

Composed here, in the project package, rather than in publication/admin.py: publication is the
bottom layer every app reads, while the checks an uploaded logo needs (accounts.images, the
Pillow pipeline covers and avatars go through) and the default newsletter, whose welcome series
the Email section links to (newsletter), live above it.
"""

import copy

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import models
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.images import CheckedImageField, clean_image
from newsletter.models import Newsletter
from publication.colors import normalise
from publication.models import SINGLETON_ID, NavigationLink, Publication, SocialProfile

LOGO_MAX_EDGE = 800
FAVICON_MAX_EDGE = 512
FAVICON_MIN_EDGE = 192  # the smallest icon the web manifest lists


def _colour_field(name: str) -> forms.CharField:
    """A colour typed as text; longer than "#rrggbb", so a wrong value gets the colour's own
    message rather than a count of characters."""
    field = Publication._meta.get_field(name)
    return forms.CharField(
        label=field.verbose_name.capitalize(),
        max_length=40,
        help_text=field.help_text,
        widget=forms.TextInput(attrs={"size": 9, "spellcheck": "false"}),
    )


class PublicationForm(forms.ModelForm):
    accent_color = _colour_field("accent_color")
    accent_color_dark = _colour_field("accent_color_dark")
    logo = CheckedImageField(
        label=_("Logo"), required=False, help_text=Publication._meta.get_field("logo").help_text
    )
    favicon = CheckedImageField(
        label=_("Favicon"),
        required=False,
        help_text=Publication._meta.get_field("favicon").help_text,
    )

    class Meta:
        model = Publication
        fields = [
            "name",
            "tagline",
            "description",
            "logo",
            "favicon",
            "accent_color",
            "accent_color_dark",
            "footer_text",
            "sender_name",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "footer_text": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_accent_color(self):
        return normalise(self.cleaned_data["accent_color"])

    def clean_accent_color_dark(self):
        return normalise(self.cleaned_data["accent_color_dark"])

    def _cleaned_upload(self, name: str, *, max_edge: int):
        """A new upload as the clean copy we store (upright, no metadata, at most max_edge)."""
        upload = self.cleaned_data.get(name)
        if not upload or not hasattr(upload, "content_type"):
            return upload  # unchanged, or cleared
        clean = clean_image(upload, max_edge=max_edge)
        return ContentFile(clean.content, name=f"{name}.{clean.extension}")

    def clean_logo(self):
        return self._cleaned_upload("logo", max_edge=LOGO_MAX_EDGE)

    def clean_favicon(self):
        upload = self.cleaned_data.get("favicon")
        image = getattr(upload, "image", None)
        if image is not None:
            width, height = image.size
            if width != height:
                raise ValidationError(
                    _("A favicon must be square; this image is %(width)s × %(height)s pixels.")
                    % {"width": width, "height": height},
                    code="not_square",
                )
            if width < FAVICON_MIN_EDGE:
                raise ValidationError(
                    _("This image is %(size)s pixels wide; a favicon needs at least %(min)s.")
                    % {"size": width, "min": FAVICON_MIN_EDGE},
                    code="too_small",
                )
        return self._cleaned_upload("favicon", max_edge=FAVICON_MAX_EDGE)


class NavigationLinkInline(admin.TabularInline):
    model = NavigationLink
    fields = ["label", "url", "position"]
    extra = 0


class SocialProfileInline(admin.TabularInline):
    model = SocialProfile
    fields = ["network", "url", "position"]
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


def welcome_series_note() -> str:
    """The Email section's line: the welcome emails are the default newsletter's welcome
    series, with a link to the newsletter's page, at its welcome steps."""
    newsletter = Newsletter.objects.default()
    url = reverse("admin:newsletter_newsletter_change", args=[newsletter.pk])
    return format_html(
        '{} <a href="{}#welcome_steps-group">{}</a>',
        gettext(
            "The emails new readers get are each newsletter's welcome series, written on "
            "the newsletter's page."
        ),
        url,
        gettext("Edit the welcome series of “%(name)s”") % {"name": newsletter.name},
    )


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):
    form = PublicationForm
    inlines = [NavigationLinkInline, SocialProfileInline]
    fieldsets = [
        (None, {"fields": ["name", "tagline", "description"]}),
        (_("Look"), {"fields": ["logo", "favicon", "accent_color", "accent_color_dark"]}),
        (_("Footer"), {"fields": ["footer_text"]}),
        (_("Email"), {"fields": ["sender_name"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        """The fieldsets, the Email one pointing to where welcome emails are written now: each
        newsletter's welcome series, the default newsletter's first of all."""
        fieldsets = copy.deepcopy(super().get_fieldsets(request, obj))
        for name, options in fieldsets:
            if name == _("Email"):
                options["description"] = welcome_series_note()
        return fieldsets

    def has_add_permission(self, request):
        return False  # one row, made by the migration

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        """There is one publication: its list is its change page."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return redirect("admin:publication_publication_change", SINGLETON_ID)
