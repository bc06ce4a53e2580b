"""The publication's settings in the admin (Settings › Publication): one row, no add or delete.

Composed here, in the project package, rather than in publication/admin.py: publication is the
bottom layer every app reads, while the checks an uploaded logo needs (accounts.images, the
Pillow pipeline covers and avatars go through) and the welcome email's preview (newsletter)
live above it.
"""

import copy
from urllib.parse import urlencode

from csp.constants import SELF
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import models
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.images import CheckedImageField, clean_image
from newsletter.admin import preview_policy
from newsletter.rendering import as_in_dark_mode
from newsletter.services import welcome_email
from publication.colors import normalise
from publication.models import SINGLETON_ID, NavigationLink, Publication, SocialProfile

WELCOME_FIELDS = ("welcome_subject", "welcome_body")
DRAFT_KEY = "publication_welcome_draft"
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
            "welcome_subject",
            "welcome_body",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "footer_text": forms.Textarea(attrs={"rows": 3}),
            "welcome_body": forms.Textarea(attrs={"rows": 10}),
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


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):
    form = PublicationForm
    inlines = [NavigationLinkInline, SocialProfileInline]
    change_form_template = "admin/publication/publication/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "tagline", "description"]}),
        (_("Look"), {"fields": ["logo", "favicon", "accent_color", "accent_color_dark"]}),
        (_("Footer"), {"fields": ["footer_text"]}),
        (
            _("Email"),
            {
                "fields": ["sender_name", "welcome_subject", "welcome_body"],
                "description": _(
                    "The welcome email goes to each reader once their subscription is "
                    "confirmed. “Preview these words” below shows it before you save."
                ),
            },
        ),
    ]

    def has_add_permission(self, request):
        return False  # one row, made by the migration

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        """There is one publication: its list is its change page."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return redirect("admin:publication_publication_change", SINGLETON_ID)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "welcome-preview/",
                self.admin_site.admin_view(self.welcome_preview_view),
                name="{}_{}_welcome_preview".format(*info),
            ),
            path(
                "welcome-preview/email/",
                self.admin_site.admin_view(self.welcome_preview_email_view),
                name="{}_{}_welcome_preview_email".format(*info),
            ),
            *super().get_urls(),
        ]

    def _welcome_for(self, request, *, draft: dict | None = None):
        """The welcome email for the editor: in the saved words, or in draft's."""
        publication = Publication.objects.current()
        if draft:
            publication = copy.copy(publication)
            for name, value in draft.items():
                setattr(publication, name, value)
        return welcome_email(user=request.user, publication=publication)

    def _draft(self, request) -> tuple[dict | None, dict]:
        """The unsaved subject and text the editor asked to preview, and their errors.

        The change form's "Preview these words" posts them here; they are kept in the session
        for the preview's frame and its light/dark links (?draft=1)."""
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            draft, errors = {}, {}
            for name in WELCOME_FIELDS:
                field = Publication._meta.get_field(name)
                try:
                    draft[name] = field.clean(request.POST.get(name, "").strip(), None)
                except ValidationError as error:
                    errors[field.verbose_name] = error.messages
            if errors:
                return None, errors
            request.session[DRAFT_KEY] = draft
            return draft, {}
        if request.GET.get("draft"):
            return request.session.get(DRAFT_KEY), {}
        return None, {}

    def welcome_preview_view(self, request):
        """The welcome email as the editor would get it, in the saved words or in the ones
        just typed on the settings page; nothing is sent or saved."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method not in ("GET", "HEAD", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        draft, errors = self._draft(request)
        info = self.opts.app_label, self.opts.model_name
        dark = request.GET.get("scheme") == "dark"
        query = {"draft": "1"} if draft else {}
        frame_query = {**query, "scheme": "dark"} if dark else query
        email_url = reverse("admin:{}_{}_welcome_preview_email".format(*info))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Preview the welcome email"),
            "message": None if errors else self._welcome_for(request, draft=draft),
            "errors": errors,
            "is_draft": bool(draft),
            "dark": dark,
            "email_url": f"{email_url}?{urlencode(frame_query)}",
            "light_url": f"?{urlencode(query)}",
            "dark_url": f"?{urlencode({**query, 'scheme': 'dark'})}",
            "change_url": reverse("admin:{}_{}_change".format(*info), args=[SINGLETON_ID]),
        }
        response = TemplateResponse(
            request, "admin/publication/publication/welcome_preview.html", context
        )
        # The page frames its own preview URL, and nothing else (as the newsletter preview).
        response._csp_replace = {"frame-src": [SELF]}
        return response

    def welcome_preview_email_view(self, request):
        """The HTML part of the welcome email, as a document of its own for the preview's
        frame, under the mail-client-like policy of the newsletter preview."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])
        draft, _errors = self._draft(request)
        message = self._welcome_for(request, draft=draft)
        html = message.alternatives[0][0]
        if request.GET.get("scheme") == "dark":
            html = as_in_dark_mode(html)
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = preview_policy()
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response
