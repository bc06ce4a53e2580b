"""Part of the subscriber list, as the admin's subscriber list shows it, for a prepared export.

The list's filters and search travel as its query string ("status__exact=active&q=example").
They are read here through the subscriber admin's own ChangeList, so the file holds exactly
the rows the editor saw listed, and whatever the list refuses (a lookup it does not offer, a
malformed value) is refused here too. This runs twice: when the editor asks (so a bad address
gets a message at once) and again in the task, before a single row is written, since the
stored query is only text and the tags it names may have been deleted in between.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.filters import ChoicesFieldListFilter, RelatedFieldListFilter
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR
from django.core.exceptions import FieldError, SuspiciousOperation, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext

from accounts.admin import may_export_subscribers
from accounts.models import Subscription, User

# The list's own bookkeeping in its address, meaningless for the rows it filters: the page
# shown and the "invalid filter" flag the list adds when it redirects.
NOT_FILTERS = frozenset({PAGE_VAR, "e", "_changelist_filters"})
# A stored query longer than this is refused before anything is read (the list's own links
# stay far below it; the field holds 2000).
MAX_QUERY = 2000


class ListFilterError(Exception):
    """The filters cannot be used: the message says why, in words for the editor."""


@dataclass
class SubscriberList:
    query: str  # normalised: the same filters in any order give the same text
    description: str
    queryset: QuerySet
    model_admin: admin.ModelAdmin

    def export_columns(self) -> list:
        return self.model_admin.export_columns()


def normalise(query: str | QueryDict) -> str:
    """Return the list's filters and search as one stable query string (page number and
    bookkeeping dropped, parameters sorted), or raise ListFilterError if it is too long."""
    params = QueryDict(query) if isinstance(query, str) else query
    if len(params.urlencode()) > MAX_QUERY:
        raise ListFilterError(gettext("These filters are too long to keep for an export."))
    kept = QueryDict(mutable=True)
    for key in sorted(params):
        if key in NOT_FILTERS:
            continue
        kept.setlist(key, sorted(params.getlist(key)))
    return kept.urlencode()


def _request_for(query: str, user: User) -> HttpRequest:
    """A GET of the subscriber list with these filters, made by user (no network involved:
    the ChangeList reads its parameters and the user's permissions from it)."""
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(query)
    request.user = user
    request.path = "/admin/accounts/subscription/"
    return request


def _check_values(changelist) -> None:
    """Refuse a filter whose value the list no longer offers: a deleted tag, an unknown status.
    Filtering by it would give another list (an empty one) than the editor meant."""
    for spec in changelist.filter_specs:
        if not isinstance(spec, (RelatedFieldListFilter, ChoicesFieldListFilter)):
            continue
        used = [name for name in spec.expected_parameters() if name in changelist.params]
        if not used:
            continue
        if not any(choice.get("selected") for choice in spec.choices(changelist)):
            raise ListFilterError(
                gettext(
                    "The filter “%(filter)s” names something the list no longer has (it was "
                    "deleted or renamed)."
                )
                % {"filter": spec.title}
            )


def _describe(changelist, search: str) -> str:
    """The filters in words: "status: Active · tag: Donors · search: “example.org”"."""
    parts = []
    for spec in changelist.filter_specs:
        if not any(name in changelist.params for name in spec.expected_parameters()):
            continue
        chosen = [
            str(choice["display"]) for choice in spec.choices(changelist) if choice.get("selected")
        ]
        value = ", ".join(chosen) or ", ".join(
            str(changelist.params[name])
            for name in spec.expected_parameters()
            if name in changelist.params
        )
        parts.append(f"{spec.title}: {value}")
    if search:
        parts.append(gettext("search: “%(term)s”") % {"term": search})
    return " · ".join(parts) or gettext("everyone")


def subscriber_list(*, query: str | QueryDict, user: User | None) -> SubscriberList:
    """Return the subscribers the list shows user with these filters, or raise
    ListFilterError with a message saying why it cannot."""
    if user is None or not may_export_subscribers(user):
        raise ListFilterError(
            gettext("The editor who asked for this list may no longer export subscribers.")
        )
    query = normalise(query)
    request = _request_for(query, user)
    model_admin = admin.site.get_model_admin(Subscription)
    if not model_admin.has_view_permission(request):
        raise ListFilterError(
            gettext("The editor who asked for this list may no longer see the subscribers.")
        )
    try:
        changelist = model_admin.get_changelist_instance(request)
        _check_values(changelist)
        queryset = changelist.get_queryset(request)
    except ListFilterError:
        raise
    except (
        IncorrectLookupParameters,
        SuspiciousOperation,
        ValidationError,
        FieldError,
        ValueError,
        TypeError,
    ) as exc:
        raise ListFilterError(
            gettext("The subscriber list does not take these filters: %(problem)s")
            % {"problem": _plain(exc)}
        ) from exc
    search = request.GET.get(SEARCH_VAR, "")
    return SubscriberList(
        query=query,
        description=_describe(changelist, search)[:500],
        queryset=queryset.select_related(None).prefetch_related(None),
        model_admin=model_admin,
    )


def _plain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or exc.__class__.__name__
