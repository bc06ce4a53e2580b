"""The welcome series in the admin: a newsletter's steps, inline on its page, in order, each
with how many readers wait at it. Used by NewsletterAdmin (newsletter/admin_audience.py)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_prose_editor.fields import ProseEditorFormField
from django_prose_editor.widgets import AdminProseEditorWidget

from newsletter import welcome
from newsletter.models import WelcomeStep
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
    readonly_fields = ["readers_waiting"]
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
