"""The editors' analytics pages (staff only, through the admin's own login and checks: see
urls.py) and the optional open pixel."""

from __future__ import annotations

import base64

from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from analytics import counting, reports
from analytics.middleware import countable, visitor
from newsletter.models import NewsletterSend
from newsletter.rendering import read_send_mark
from posts.models import Post

# The smallest transparent GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _page_or_csv(request, template: str, context: dict, charts: dict):
    """Render template, or with ?csv=<chart>, that chart's numbers as a CSV file."""
    name = request.GET.get("csv")
    if name in charts:
        response = HttpResponse(charts[name].csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    # The admin's own header, navigation and theme switch, as on every admin page.
    return render(request, template, {**admin.site.each_context(request), **context})


@require_safe
def overview(request):
    """The publication's growth, and its top posts by visitors and by new subscribers."""
    days = reports.pick_range(request.GET.get("days"))
    growth = reports.growth(days=days)
    context = {
        "title": "Analytics",
        "growth": growth,
        "ranges": reports.RANGES,
        "top": reports.top_posts(days=days),
    }
    return _page_or_csv(request, "analytics/overview.html", context, {"growth": growth.chart})


@require_safe
def post_detail(request, post_id: int):
    """One post: visitors over time, where they came from, its email, engagement, conversions."""
    post = get_object_or_404(Post, pk=post_id)
    days = reports.pick_range(request.GET.get("days"))
    report = reports.post_report(post=post, days=days)
    context = {"title": f"Analytics: {post.title}", "ranges": reports.RANGES, **report}
    charts = {name: report[name] for name in ("visitors", "sources", "conversions")}
    return _page_or_csv(request, "analytics/post_detail.html", context, charts)


@require_safe
def send_detail(request, send_id: int):
    """One send: delivered, bounced, complained, unsubscribed, and arrivals per link."""
    send = get_object_or_404(NewsletterSend.objects.select_related("post"), pk=send_id)
    report = reports.send_report(send=send)
    context = {"title": f"Send report: {send.post.title}", **report}
    return _page_or_csv(
        request, "analytics/send_detail.html", context, {"links": report["arrivals"]}
    )


@never_cache
@require_safe
def open_pixel(request, mark: str):
    """Count one open of a send (when the editor turned the pixel on), answer a blank image."""
    found = read_send_mark(mark)
    if found is not None and found[1] == 0 and countable(request):
        counting.record_open(send_id=found[0], visitor=visitor(request), day=counting.today())
    return HttpResponse(PIXEL, content_type="image/gif")
