"""The welcome series in the admin: a newsletter's steps, inline on its page, in order, each
with how many readers wait at it and a link to preview its email as a chosen reader gets it.
Used by NewsletterAdmin (newsletter/admin_audience.py)."""

from __future__ import annotations

from csp.constants import SELF
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_prose_editor.fields import ProseEditorFormField
from django_prose_editor.widgets import AdminProseEditorWidget

from newsletter import welcome
from newsletter.forms import WelcomePreviewForm
from newsletter.models import WelcomeStep
from newsletter.rendering import as_in_dark_mode
from posts.richtext import EDITOR_EXTENSIONS, sanitize_body


class WelcomeStepForm(forms.ModelForm):
    # The same editor and allow-list as posts: what an editor can make is what survives.
    body = ProseEditorFormField(
        config={"extensions": dict(EDITOR_EXTENSIONS)},
        sanitize=sanitize_body,
        widget=AdminProseEditorWidget,
        required=False,
        label=_("Body"),
    )

    class Meta:
        model = WelcomeStep
        fields = [
            "position",
            "subject",
            "body",
            "delay_hours",
            "delay_from",
            "show_latest_post",
            "is_active",
        ]
        widgets = {"subject": forms.TextInput(attrs={"class": "vTextField ff-wide"})}

    def clean_subject(self):
        subject = " ".join(self.cleaned_data["subject"].split())
        if not subject:
            raise forms.ValidationError(_("A welcome email needs a subject."))
        return subject


class WelcomeStepInline(admin.StackedInline):
    model = WelcomeStep
    form = WelcomeStepForm
    extra = 0
    ordering = ["position", "pk"]
    readonly_fields = ["readers_waiting", "preview"]
    verbose_name = _("welcome email")
    verbose_name_plural = _("welcome series (sent in the order of the “order” field)")

    @admin.display(description=_("readers waiting for it"))
    def readers_waiting(self, obj) -> int:
        if obj is None or obj.pk is None:
            return 0
        newsletter = obj.newsletter
        if not hasattr(newsletter, "_welcome_counts"):
            newsletter._welcome_counts = {s.pk: n for s, n in welcome.step_counts(newsletter)}
        return newsletter._welcome_counts.get(obj.pk, 0)

    @admin.display(description=_("preview"))
    def preview(self, obj) -> str:
        if obj is None or obj.pk is None:
            return gettext("Save the step first, then preview its email here.")
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:newsletter_welcomestep_preview", args=[obj.pk]),
            gettext("Preview this email as a reader gets it"),
        )


class WelcomePreviewMixin:
    """Adds the welcome steps' email preview to the newsletter admin: the step's email exactly
    as a chosen reader would get it (their own links), light or dark, desktop or phone width,
    and its plain-text part. Nothing is sent or stored."""

    def get_urls(self):
        return [
            path(
                "welcome-step/<int:step_id>/preview/",
                self.admin_site.admin_view(self.welcome_preview_view),
                name="newsletter_welcomestep_preview",
            ),
            path(
                "welcome-step/<int:step_id>/preview/email/",
                self.admin_site.admin_view(self.welcome_preview_email_view),
                name="newsletter_welcomestep_preview_email",
            ),
            *super().get_urls(),
        ]

    def _welcome_preview(self, request, step_id):
        """Return (step, bound form), or raise: staff who may view or change newsletters only;
        another reader's copy (their personal links) only for those who may change them."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        step = get_object_or_404(WelcomeStep.objects.select_related("newsletter"), pk=step_id)
        form = WelcomePreviewForm(
            request.GET,
            editor=request.user,
            may_choose_reader=self.has_change_permission(request, step.newsletter),
        )
        return step, form

    def welcome_preview_view(self, request, step_id):
        """A welcome step's email as a chosen reader would get it; nothing is sent."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied  # before the method check: nothing said to who may not see
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        step, form = self._welcome_preview(request, step_id)
        here = reverse("admin:newsletter_welcomestep_preview", args=[step.pk])
        extra = {}
        if form.is_valid():
            data = form.cleaned_data
            message = welcome.render_step(step, user=data["subscriber"], newsletter=step.newsletter)
            email_url = reverse("admin:newsletter_welcomestep_preview_email", args=[step.pk])
            extra = {"message": message, **form.preview_context(here=here, email_url=email_url)}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": step.newsletter,
            "step": step,
            "newsletter_change_url": reverse(
                "admin:newsletter_newsletter_change", args=[step.newsletter_id]
            ),
            "form": form,
            "title": gettext("Preview the welcome email “%(subject)s”") % {"subject": step.subject},
            **extra,
        }
        response = TemplateResponse(request, "newsletter/admin/welcome_step_preview.html", context)
        # The page frames its own preview URL and nothing else, as the post's email preview.
        response._csp_replace = {"frame-src": [SELF]}
        return response

    def welcome_preview_email_view(self, request, step_id):
        """The HTML part of the previewed step, as a document of its own for the frame, under
        the previewed email's own policy (inline styles, no script, sandboxed)."""
        from newsletter.admin import preview_policy  # newsletter.admin imports this module

        if not self.has_view_or_change_permission(request):
            raise PermissionDenied  # before the method check: nothing said to who may not see
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        step, form = self._welcome_preview(request, step_id)
        if not form.is_valid():
            return HttpResponseBadRequest(
                gettext("Check the preview's settings."), content_type="text/plain; charset=utf-8"
            )
        data = form.cleaned_data
        message = welcome.render_step(step, user=data["subscriber"], newsletter=step.newsletter)
        html = message.alternatives[0][0]
        if data["scheme"] == form.DARK:
            html = as_in_dark_mode(html)
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = preview_policy()
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response
