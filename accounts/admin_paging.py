"""Long admin lists without counting them: the subscriber list may hold a million readers.

Django's change list counts the whole filtered list for its paginator, and our subscriber list
counts readers by status for its summary; on a table of a million rows each count reads the
whole table, on every page. Below LARGE_TABLE_ROWS (PostgreSQL's own estimate of the table's
size, from its statistics) everything is counted exactly, as before. Above it:
- the unfiltered list's length is PostgreSQL's estimate (exact to a percent or so after the
  table was analysed), so the first page reads 100 rows and nothing else;
- a filtered or searched list is counted up to COUNT_CAP matches, and shows that many pages;
- summaries (counts by status, the signup sources) are cached for SUMMARY_SECONDS;
- a search for one whole address (what an editor pastes from a reader's email) finds it through
  the address's unique index (WholeAddressSearch) instead of reading every row for a substring.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.core.validators import validate_email
from django.db import connection
from django.utils.functional import cached_property

from accounts.models import normalize_email

LARGE_TABLE_ROWS = 50_000  # ADMIN_LARGE_TABLE_ROWS overrides it
COUNT_CAP = 10_000
SUMMARY_SECONDS = 60


def estimated_rows(model) -> int:
    """Return PostgreSQL's estimate of the rows in model's table (-1 before it was analysed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else -1


def large_table_rows() -> int:
    return getattr(settings, "ADMIN_LARGE_TABLE_ROWS", LARGE_TABLE_ROWS)


def is_large(model) -> bool:
    """Return True when model's table is too long to count on every page."""
    return estimated_rows(model) >= large_table_rows()


def cached_summary(key: str, model, compute):
    """Return compute(), cached for SUMMARY_SECONDS when model's table is large; and whether
    the value may be that old."""
    if not is_large(model):
        return compute(), False
    return cache.get_or_set(f"admin-summary:{key}", compute, SUMMARY_SECONDS), True


class LargeTablePaginator(Paginator):
    """The admin's paginator for tables that may be too long to count (see the module notes)."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        estimate = estimated_rows(queryset.model)
        if estimate < large_table_rows():
            return super().count
        if not queryset.query.where:
            return estimate
        # Counting stops at the cap: a search with a million matches costs what 10,001 do.
        return queryset.order_by()[: COUNT_CAP + 1].count()


class WholeAddressSearch:
    """Admin mixin: a search term that is one whole email address matches that address exactly,
    by its unique index (milliseconds at a million readers); any other term is searched as
    usual, as a substring of each search field (which reads the whole table). Set
    address_field to the lookup of the reader's email ("email", "user__email")."""

    address_field = "email"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        try:
            validate_email(term)
        except ValidationError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(**{self.address_field: normalize_email(term)}), False
