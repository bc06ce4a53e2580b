"""The subscriber list in the admin: counts, filters, search, CSV export and import."""

import csv
import io
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Subscription, User
from accounts.services import import_subscribers
from tests.factories import make_subscribers

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_subscription_changelist")
EXPORT = reverse("admin:accounts_subscription_export")
IMPORT = reverse("admin:accounts_subscription_import")


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


def test_import_validates_normalises_skips_duplicates_and_reports(editor_client):
    User.objects.create_user(email="known@example.com")  # a reader without a subscription
    pending = make_subscribers(1, status=Subscription.Status.PENDING, prefix="pending")[0]
    make_subscribers(1, prefix="already")
    for status in ("unsubscribed", "bounced", "complained"):
        make_subscribers(1, status=status, prefix=status)
    data = (
        "Name,Email,Joined\n"
        "Ada, Ada@Example.COM ,2024\n"
        "Ada again,ada@example.com,2024\n"
        "Known,known@example.com,2023\n"
        f"Pending,{pending.email},2023\n"
        "Already,already0@example.com,2023\n"
        "Left,unsubscribed0@example.com,2022\n"
        "Dead,bounced0@example.com,2022\n"
        "Angry,complained0@example.com,2022\n"
        "Broken,not-an-email,2022\n"
        "Empty,,2022\n"
        f"Long,{'x' * 250}@example.com,2022\n"
    )
    upload = SimpleUploadedFile("list.csv", data.encode(), content_type="text/csv")
    response = editor_client.post(IMPORT, {"file": upload, "source": "old-list", "consent": "on"})
    assert response.status_code == HTTPStatus.OK
    report = response.context["report"]
    assert (report.created, report.activated, report.already_active) == (1, 2, 1)
    assert (report.left_alone, report.duplicates) == (3, 1)
    assert [line for line, _, _ in report.invalid] == [10, 11, 12]
    page = response.content.decode()
    assert "Line 10" in page and "not-an-email" in page

    ada = Subscription.objects.get(user__email="ada@example.com")
    assert (ada.status, ada.source) == ("active", "old-list")
    assert Subscription.objects.get(user__email="known@example.com").status == "active"
    assert Subscription.objects.get(user=pending).status == "active"
    for status in ("unsubscribed", "bounced", "complained"):
        assert Subscription.objects.get(user__email=f"{status}0@example.com").status == status
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


def test_import_without_a_header_uses_the_first_column_and_semicolons():
    report = import_subscribers(data=b"one@example.com;x\ntwo@example.com;y\n", source="s")
    assert report.created == 2
    assert set(Subscription.objects.values_list("user__email", flat=True)) == {
        "one@example.com",
        "two@example.com",
    }


def test_import_twice_changes_nothing_the_second_time():
    data = b"email\na@example.com\nb@example.com\n"
    import_subscribers(data=data)
    again = import_subscribers(data=data)
    assert (again.created, again.activated, again.already_active) == (0, 0, 2)
    assert User.objects.count() == 2


def test_import_reads_latin1_files():
    report = import_subscribers(data="email\nzoe@bücher.example\n".encode("latin-1"))
    assert report.created == 1


@pytest.mark.parametrize(
    ("post", "error"),
    [
        ({"source": "x", "consent": "on"}, "file"),
        ({"source": "x"}, "consent"),
    ],
)
def test_import_form_errors(editor_client, post, error):
    data = dict(post)
    if error != "file":
        data["file"] = SimpleUploadedFile("a.csv", b"email\na@example.com\n")
    response = editor_client.post(IMPORT, data)
    assert response.status_code == HTTPStatus.OK
    assert error in response.context["form"].errors
    assert not Subscription.objects.exists()


def test_import_refuses_a_binary_file(editor_client):
    upload = SimpleUploadedFile("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    response = editor_client.post(IMPORT, {"file": upload, "source": "x", "consent": "on"})
    assert "does not look like a CSV" in response.content.decode()


def test_import_page_needs_permission(auth_client):
    response = auth_client.get(IMPORT)
    assert response.status_code == HTTPStatus.FOUND
    assert "/login/" in response.url


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
