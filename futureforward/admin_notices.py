"""The editor's own page in the admin: what the publication emails them about."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from accounts.models import User


class NoticesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_review_queue", "notify_sends"]


def notices_view(request):
    """Show and save the signed-in editor's notice choices (admin.site wraps it: staff only)."""
    # Unticking every box posts no field at all: still a submission, not a first visit.
    data = request.POST if request.method == "POST" else None
    form = NoticesForm(data, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your email choices are saved."))
        return redirect("admin:notices")
    context = {
        **admin.site.each_context(request),
        "title": _("Emails to you"),
        "form": form,
    }
    return TemplateResponse(request, "admin/notices.html", context)
