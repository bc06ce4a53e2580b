"""The admin's export page: the whole publication as a Ghost JSON file, and the subscribers as
CSV. Both carry every subscriber's address, so only superusers and staff given the
"export subscribers" permission (accounts) may see the page, prepare, download or delete either
file.

Any publication can have its files prepared in the background (integrations.exports); up to
EXPORTS_DIRECT_MAX_SUBSCRIBERS subscribers the page also offers them as direct downloads,
written inside the request, which a publication that size gets in a few seconds.

Served by the editors' admin site (futureforward/adminsite.py adds the URLs and the link in
Settings), which already refuses anyone who is not active staff.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from accounts.admin import may_export_subscribers
from accounts.models import Subscription, User
from integrations import exports
from integrations.ghost_export import GHOST_VERSION, export_filename, ghost_export_chunks
from integrations.models import STALLED_ERROR, PreparedExport
from newsletter.models import Newsletter, SubscriberTag
from posts.models import Post, Tag


def _check(request) -> None:
    if not may_export_subscribers(request.user):
        raise PermissionDenied


# How many prepared exports the page lists (they expire after EXPORTS_KEEP_DAYS anyway).
LISTED = 20


def _prepared_context(request) -> dict:
    # Reads only: an expired export is not listed and a stalled one shows as stopped; the task
    # worker's tidy() deletes and marks them (a GET never writes).
    prepared = list(PreparedExport.objects.listed().select_related("requested_by")[:LISTED])
    return {
        "prepared": prepared,
        "any_busy": any(export.is_waited_on for export in prepared),
        "keep_days": settings.EXPORTS_KEEP_DAYS,
        "stalled_error": STALLED_ERROR,
        "kinds": PreparedExport.Kind.choices,
    }


def _direct_allowed(subscribers: int) -> bool:
    return subscribers <= settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS


@require_GET
def export_page(request):
    """What an export holds, counted; the prepared files, and the direct downloads while the
    list is small enough for them."""
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
        "direct_max": settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS,
        **_prepared_context(request),
    }
    context["direct"] = _direct_allowed(context["subscribers"])
    return TemplateResponse(request, "integrations/admin/export.html", context)


@require_GET
def prepared_list_view(request):
    """The list of prepared exports alone, for htmx to swap in while one is being written."""
    _check(request)
    return TemplateResponse(
        request, "integrations/admin/_prepared.html", _prepared_context(request)
    )


@require_POST
def prepare_view(request):
    """Queue a prepared export of the kind posted (one of a kind at a time)."""
    _check(request)
    kind = request.POST.get("kind", "")
    # Part of the subscriber list is asked for from the list itself, with its filters.
    if kind not in PreparedExport.Kind.values or kind == PreparedExport.Kind.LIST:
        messages.error(request, gettext("Choose which file to prepare."))
        return redirect("admin:export")
    export, created = exports.prepare_export(kind=kind, user=request.user)
    if created:
        messages.success(
            request,
            gettext(
                "The file is being prepared. It appears below when it is ready, and we email "
                "you then; you may leave this page."
            ),
        )
    else:
        messages.info(
            request,
            gettext("This file is being prepared already (asked for by %(who)s): it is below.")
            % {"who": export.requested_by or gettext("someone no longer on the staff")},
        )
    return redirect("admin:export")


@require_GET
def prepared_download_view(request, pk: int):
    """A ready prepared export's file, streamed from the database piece by piece."""
    _check(request)
    export = get_object_or_404(
        PreparedExport.objects.listed(), pk=pk, status=PreparedExport.Status.READY
    )
    response = StreamingHttpResponse(
        exports.file_pieces(export),
        content_type=(
            "application/json; charset=utf-8"
            if export.kind == PreparedExport.Kind.GHOST
            else "text/csv; charset=utf-8"
        ),
    )
    response["Content-Length"] = str(export.size)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def prepared_delete_view(request, pk: int):
    """Delete a prepared export and its file now."""
    _check(request)
    export = get_object_or_404(PreparedExport, pk=pk)
    exports.delete_export(export=export)
    messages.success(request, gettext("The prepared file is deleted."))
    return redirect("admin:export")


@require_GET
def ghost_export_view(request):
    """The Ghost JSON file, streamed as it is read (small publications only: a longer list
    would outlast the web worker's timeout, so it is prepared in the background instead)."""
    _check(request)
    if not _direct_allowed(Subscription.objects.count()):
        messages.info(
            request,
            gettext(
                "This publication is too large to export while you wait: prepare the file "
                "below and download it when it is ready."
            ),
        )
        return redirect("admin:export")
    response = StreamingHttpResponse(
        ghost_export_chunks(), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export_filename()}"'
    response["Cache-Control"] = "no-store"
    return response
