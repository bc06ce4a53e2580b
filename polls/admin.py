import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from polls.forms import PollAdminForm
from polls.models import Poll
from posts.widgets import LabelledSplitDateTime

POLL_FIELDS = [
    "question",
    "choices_text",
    "placement",
    ("opens_at", "closes_at"),
    "show_results_before_voting",
    "allow_vote_change",
    "results_link",
]


def _results_link(poll) -> str:
    if not poll or not poll.pk:
        return _("Results appear here once the poll is saved.")
    voters = getattr(poll, "voter_count", None)
    if voters is None:
        voters = poll.votes.count()
    return format_html(
        '{} · <a href="{}">{}</a>',
        ngettext("%(n)d voter", "%(n)d voters", voters) % {"n": voters},
        poll.get_admin_results_url(),
        _("Results, chart and CSV"),
    )


class PollInline(admin.StackedInline):
    """Polls edited on their post. Choices are a one-per-line field of the poll's own form
    (Django has no nested inlines, and a third-party nested admin is one more moving part)."""

    model = Poll
    form = PollAdminForm
    extra = 0
    fields = POLL_FIELDS
    readonly_fields = ["results_link"]
    formfield_overrides = {models.DateTimeField: {"widget": LabelledSplitDateTime}}
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(voter_count=Count("votes"))

    @admin.display(description=_("Results"))
    def results_link(self, poll):
        return _results_link(poll)


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    form = PollAdminForm
    fields = ["post", *POLL_FIELDS]
    readonly_fields = ["results_link"]
    autocomplete_fields = ["post"]
    list_display = ["question", "post", "status_label", "voters", "opens_at", "closes_at"]
    list_select_related = ["post"]
    search_fields = ["question", "post__title"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(voter_count=Count("votes"))

    @admin.display(description=_("status"))
    def status_label(self, poll):
        return poll.status().label

    @admin.display(description=_("voters"), ordering="voter_count")
    def voters(self, poll):
        return format_html('<a href="{}">{}</a>', poll.get_admin_results_url(), poll.voter_count)

    @admin.display(description=_("Results"))
    def results_link(self, poll):
        return _results_link(poll)

    def get_urls(self):
        return [
            path(
                "<int:poll_id>/results/",
                self.admin_site.admin_view(self.results_view),
                name="polls_poll_results",
            ),
            path(
                "<int:poll_id>/results.csv",
                self.admin_site.admin_view(self.results_csv_view),
                name="polls_poll_results_csv",
            ),
            *super().get_urls(),
        ]

    def _get_poll_for_results(self, request, poll_id) -> Poll:
        poll = get_object_or_404(Poll.objects.select_related("post"), pk=poll_id)
        if not self.has_view_permission(request, poll):
            raise PermissionDenied
        return poll

    def results_view(self, request, poll_id):
        """Counts, percentages and a bar per choice, total voters and first votes per day."""
        poll = self._get_poll_for_results(request, poll_id)
        results = poll.results()
        per_day = poll.votes_per_day()
        busiest = max((n for _day, n in per_day), default=0)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Results: %(question)s") % {"question": poll.question},
            "poll": poll,
            "results": results,
            "leaders": results.leader_ids,
            "per_day": per_day,
            "busiest_day": busiest,
        }
        return TemplateResponse(request, "admin/polls/poll/results.html", context)

    def results_csv_view(self, request, poll_id):
        """The results as CSV: aggregates only, never who voted."""
        poll = self._get_poll_for_results(request, poll_id)
        results = poll.results()
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="poll-{poll.pk}-results.csv"'
        writer = csv.writer(response)
        writer.writerow(["question", _csv_safe(poll.question)])
        writer.writerow(["post", _csv_safe(poll.post.title)])
        writer.writerow(["total voters", results.total])
        writer.writerow([])
        writer.writerow(["position", "choice", "votes", "percent"])
        for row in results.rows:
            writer.writerow([row.position + 1, _csv_safe(row.text), row.votes, row.percent])
        writer.writerow([])
        writer.writerow(["day", "first votes"])
        for day, count in poll.votes_per_day():
            writer.writerow([day.isoformat(), count])
        return response


def _csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ would be run as one."""
    value = str(value)
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value
