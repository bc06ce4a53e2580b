"""The subscriber list's "Export CSV (this list)" at any size.

Up to EXPORTS_DIRECT_MAX_SUBSCRIBERS rows the list's CSV is streamed inside the request, as
accounts' SubscriptionAdmin does. A longer list would outlast the web worker's timeout, so the
link opens a page saying so, whose button (a POST) asks for the same rows as a prepared export:
the task writes it, the export page shows its progress, and the editor gets an email.

A mixin, composed into the subscriber admin by the project package (futureforward/admin.py),
since accounts never imports the apps above it.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext

from accounts.admin import may_export_subscribers
from integrations import exports
from integrations.models import PreparedExport
from integrations.subscriber_list import ListFilterError, subscriber_list


class PreparedListExportMixin:
    """Adds the prepared path to the subscriber admin's export of its filtered list."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "export/prepare/",
                self.admin_site.admin_view(self.prepare_list_export_view),
                name="{}_{}_prepare_export".format(*info),
            ),
            *super().get_urls(),
        ]

    def _back_to_list(self, request, query: str = ""):
        changelist = redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        if query:
            changelist["Location"] += f"?{query}"
        return changelist

    def _check(self, request) -> None:
        if not (self.has_view_permission(request) and may_export_subscribers(request.user)):
            raise PermissionDenied

    def export_view(self, request):
        """The list's CSV now if it is short enough; otherwise a page offering to prepare it."""
        self._check(request)
        try:
            listing = subscriber_list(query=request.GET, user=request.user)
        except ListFilterError as exc:
            messages.error(request, str(exc))
            return self._back_to_list(request)
        limit = settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS
        if listing.queryset.order_by()[: limit + 1].count() <= limit:
            return super().export_view(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Export this list"),
            "listing": listing,
            "limit": limit,
        }
        return TemplateResponse(request, "integrations/admin/list_export_prepare.html", context)

    def prepare_list_export_view(self, request):
        """Queue the list with the posted filters as a prepared export; on to the export page."""
        self._check(request)  # before the method: who may not export learns nothing here
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            listing = subscriber_list(query=request.POST.get("query", ""), user=request.user)
        except ListFilterError as exc:
            messages.error(request, str(exc))
            return self._back_to_list(request)
        export, created = exports.prepare_export(
            kind=PreparedExport.Kind.LIST,
            user=request.user,
            list_query=listing.query,
            list_description=listing.description,
        )
        if created:
            messages.success(
                request,
                gettext(
                    "The list is being prepared. It appears below when it is ready, and we "
                    "email you then; you may leave this page."
                ),
            )
        else:
            messages.info(
                request,
                gettext("This list is being prepared already (asked for by %(who)s): it is below.")
                % {"who": export.requested_by or gettext("someone no longer on the staff")},
            )
        return redirect("admin:export")
