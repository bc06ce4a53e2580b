"""The subscriber list in the admin: counts, filters, search, CSV export. The import is
the imports app's (tests/imports/test_address_list.py)."""

import csv
import io
import re
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Subscription, User
from tests.factories import make_subscribers

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_subscription_changelist")
EXPORT = reverse("admin:accounts_subscription_export")


@pytest.fixture
def list_of_readers():
    make_subscribers(3)
    make_subscribers(2, status=Subscription.Status.UNSUBSCRIBED, prefix="gone")
    make_subscribers(1, status=Subscription.Status.BOUNCED, prefix="dead")


def rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_list_shows_counts_by_status_filters_and_search(editor_client, list_of_readers):
    response = editor_client.get(CHANGELIST)
    assert response.status_code == HTTPStatus.OK
    counts = {row["value"]: row["count"] for row in response.context["status_counts"]}
    assert counts == {
        "pending": 0,
        "active": 3,
        "unsubscribed": 2,
        "bounced": 1,
        "complained": 0,
    }
    page = response.content.decode()
    assert "Import CSV" in page and "Export CSV" in page
    filtered = editor_client.get(CHANGELIST, {"status__exact": "unsubscribed"})
    assert filtered.context["cl"].result_count == 2
    searched = editor_client.get(CHANGELIST, {"q": "dead0@"})
    assert searched.context["cl"].result_count == 1


def test_a_whole_address_finds_that_reader_by_the_index_and_nobody_else(
    editor_client, list_of_readers
):
    User.objects.create_user(email="asub0@example.com")  # "sub0@example.com" is inside it
    with CaptureQueriesContext(connection) as queries:
        searched = editor_client.get(CHANGELIST, {"q": "  Sub0@Example.com "})
    assert [s.user.email for s in searched.context["cl"].result_list] == ["sub0@example.com"]
    lookups = [q["sql"] for q in queries if "sub0@example.com" in q["sql"]]
    assert lookups and all("LIKE" not in sql for sql in lookups)
    # Part of an address is still a substring search: both readers whose address holds it.
    partial = editor_client.get(reverse("admin:accounts_user_changelist"), {"q": "sub0@"})
    assert sorted(u.email for u in partial.context["cl"].result_list) == [
        "asub0@example.com",
        "sub0@example.com",
    ]


def test_export_streams_the_filtered_list_as_csv(editor_client, list_of_readers):
    response = editor_client.get(EXPORT, {"status__exact": "active"})
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = rows_of(response)
    assert rows[0][:3] == ["email", "status", "source"]
    assert sorted(row[0] for row in rows[1:]) == [f"sub{i}@example.com" for i in range(3)]
    assert {row[1] for row in rows[1:]} == {"active"}


def test_export_action_and_formula_cells_are_neutralised(editor_client):
    user = User.objects.create_user(email="=cmd@example.com")
    Subscription.objects.create(user=user, status="active", source="=HYPERLINK(1)")
    response = editor_client.post(
        CHANGELIST,
        {"action": "export_selected", "_selected_action": [user.subscription.pk]},
    )
    rows = rows_of(response)
    assert rows[1][0] == "'=cmd@example.com"
    assert rows[1][2] == "'=HYPERLINK(1)"


def test_unsubscribe_action_keeps_the_accounts(editor_client, list_of_readers):
    ids = list(Subscription.objects.filter(status="active").values_list("pk", flat=True))
    editor_client.post(CHANGELIST, {"action": "unsubscribe_selected", "_selected_action": ids})
    assert not Subscription.objects.filter(status="active").exists()
    assert User.objects.filter(email="sub0@example.com").exists()


def counting_subscriptions(queries) -> list[str]:
    return [
        query["sql"]
        for query in queries.captured_queries
        if "COUNT(" in query["sql"].upper() and 'FROM "accounts_subscription"' in query["sql"]
    ]


def test_a_long_list_is_paged_without_counting_the_whole_table(editor_client, settings):
    # A list counts as long from 40 readers here (50,000 by default): the first page reads
    # PostgreSQL's estimate of the table, a search counts its matches only up to a cap, and
    # no page counts every row.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.ADMIN_LARGE_TABLE_ROWS = 40
    make_subscribers(45)
    make_subscribers(5, status=Subscription.Status.UNSUBSCRIBED, prefix="gone")
    make_subscribers(1, prefix="needle", status=Subscription.Status.BOUNCED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_subscription")
    with CaptureQueriesContext(connection) as queries:
        response = editor_client.get(CHANGELIST)
    assert response.status_code == HTTPStatus.OK
    assert response.context["cl"].result_count == 51
    assert len(response.context["cl"].result_list) == 51
    assert "counted within the last minute" in response.content.decode()
    counted = counting_subscriptions(queries)
    # Only the status summary counts, and only this once a minute (it is cached now).
    assert len(counted) == 1 and "GROUP BY" in counted[0]
    with CaptureQueriesContext(connection) as queries:
        searched = editor_client.get(CHANGELIST, {"q": "needle0@"})
    assert searched.context["cl"].result_count == 1
    assert [str(row.user) for row in searched.context["cl"].result_list] == ["needle0@example.com"]
    counted = counting_subscriptions(queries)
    assert counted and all("LIMIT 10001" in sql for sql in counted)
    filtered = editor_client.get(CHANGELIST, {"source": "test", "status__exact": "unsubscribed"})
    assert filtered.context["cl"].result_count == 5
    # A filter value nobody has shows an empty page, not an error.
    empty = editor_client.get(CHANGELIST, {"source": "nowhere"})
    assert empty.status_code == HTTPStatus.OK
    assert empty.context["cl"].result_count == 0


def test_the_list_links_to_the_one_import_page(editor_client):
    page = editor_client.get(CHANGELIST).content.decode()
    assert 'href="/admin/imports/import/add/?kind=csv"' in page
    form = editor_client.get("/admin/imports/import/add/?kind=csv").content.decode()
    assert re.search(r'<input type="radio" name="kind" value="csv"[^>]* checked>', form)
