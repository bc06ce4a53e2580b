from django import template
from django.urls import reverse

from analytics import reports

register = template.Library()


@register.inclusion_tag("analytics/admin/dashboard.html", takes_context=True)
def analytics_dashboard(context):
    """The admin index's dashboard: subscribers and growth, the latest posts, what waits."""
    request = context["request"]
    days = reports.pick_range(request.GET.get("days"))
    return {
        "request": request,
        "csv_base": reverse("analytics:overview"),
        **reports.dashboard(days=days),
    }
