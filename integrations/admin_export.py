"""The admin's export page: the whole publication as a Ghost JSON file, and the subscribers as
CSV. Both carry every subscriber's address, so only superusers and staff given the
"export subscribers" permission (accounts) may see the page or download either file.

Served by the editors' admin site (futureforward/adminsite.py adds the URLs and the link in
Settings), which already refuses anyone who is not active staff.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.admin import may_export_subscribers
from accounts.models import Subscription, User
from integrations.ghost_export import GHOST_VERSION, export_filename, ghost_export_chunks
from newsletter.models import Newsletter, SubscriberTag
from posts.models import Post, Tag


def _check(request) -> None:
    if not may_export_subscribers(request.user):
        raise PermissionDenied


@require_GET
def export_page(request):
    """What an export holds, counted, with the two downloads."""
    _check(request)
    posts = Post.objects.aggregate(
        all=Count("pk"),
        published=Count("pk", filter=Q(pk__in=Post.objects.published().values("pk"))),
        gated=Count("pk", filter=Q(audience=Post.Audience.SUBSCRIBERS)),
    )
    statuses = Subscription.objects.counts_by_status()
    context = {
        **admin.site.each_context(request),
        "title": _("Export the publication"),
        "ghost_version": GHOST_VERSION,
        "posts": posts,
        "tags": Tag.objects.count(),
        "authors": User.objects.filter(Q(is_staff=True) | Q(posts__isnull=False))
        .distinct()
        .count(),
        "newsletters": Newsletter.objects.count(),
        "subscriber_tags": SubscriberTag.objects.count(),
        "statuses": [
            {"label": label, "count": statuses[value]}
            for value, label in Subscription.Status.choices
        ],
        "subscribers": sum(statuses.values()),
    }
    return TemplateResponse(request, "integrations/admin/export.html", context)


@require_GET
def ghost_export_view(request):
    """The Ghost JSON file, streamed as it is read."""
    _check(request)
    response = StreamingHttpResponse(
        ghost_export_chunks(), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export_filename()}"'
    response["Cache-Control"] = "no-store"
    return response
