"""What analytics adds to other apps' admin pages (composed in futureforward/admin.py)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _


class AnalyticsPostAdminMixin:
    """A link from each row of the post list to that post's analytics page."""

    def get_list_display(self, request):
        return [*super().get_list_display(request), "analytics_link"]

    @admin.display(description=_("Analytics"))
    def analytics_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("analytics:post", args=[obj.pk]), _("Readers")
        )
