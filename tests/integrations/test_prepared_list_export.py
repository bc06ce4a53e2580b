"""The subscriber list's "Export CSV (this list)" above the direct limit: the filtered list
prepared by the task with exactly the rows the list showed, who may ask, two clicks, filters
that are forged, malformed or stale by the time the task runs; and the export page, which only
reads (a stalled or expired export is shown so, and the tidy pass writes it down)."""

import csv
import io
from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import EditorNotice, Subscription
from accounts.services import send_editor_notice
from integrations import exports
from integrations.models import PreparedExport, PreparedExportChunk
from newsletter.models import SubscriberTag
from tests.factories import EditorFactory, make_subscribers
from tests.integrations.test_export import CSV, PAGE, download, staff_with

pytestmark = pytest.mark.django_db
LIST = reverse("admin:accounts_subscription_changelist")
PREPARE_LIST = reverse("admin:accounts_subscription_prepare_export")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://news.example"


@pytest.fixture
def donors(publication):
    """Twelve subscribers: eight tagged "Donors" (five active, three unsubscribed), four not."""
    tag = SubscriberTag.objects.create(name="Donors")
    active = make_subscribers(5, prefix="donor-active-")
    gone = make_subscribers(3, prefix="donor-gone-", status=Subscription.Status.UNSUBSCRIBED)
    make_subscribers(4, prefix="plain-")
    tag.readers.add(*active, *gone)
    return tag


def shown_on_the_list(client, query: str) -> set[str]:
    """The addresses the subscriber list shows with these filters (all on one page here)."""
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == HTTPStatus.OK
    changelist = response.context["cl"]
    assert changelist.result_count <= changelist.list_per_page
    return {subscription.user.email for subscription in changelist.result_list}


def csv_addresses(data: bytes) -> set[str]:
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    return {row["email"] for row in rows}


def ask_for_the_list(client, query: str, capture, *, run=True):
    """Open "Export CSV (this list)" with the list's query, then press the page's button."""
    page = client.get(f"{CSV}?{query}")
    assert page.status_code == HTTPStatus.OK and not page.streaming
    assert "Prepare this list (CSV)" in page.content.decode()
    posted = page.context["listing"].query
    with capture(execute=run):
        response = client.post(PREPARE_LIST, {"query": posted}, follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    return response


# --- The file ----------------------------------------------------------------------------------


def test_a_long_filtered_list_is_prepared_with_exactly_the_rows_the_list_showed(
    editor_client, donors, settings, django_capture_on_commit_callbacks, mailoutbox
):
    query = f"status__exact=active&user__subscriber_tags__id__exact={donors.pk}&q=donor"
    shown = shown_on_the_list(editor_client, query)
    assert shown == {f"donor-active-{index}@example.com" for index in range(5)}

    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 4  # the filtered list has five
    page = editor_client.get(f"{CSV}?{query}").content.decode()
    assert "This list has more than 4 subscribers" in page
    assert "status: Active" in page and "Donors" in page and "“donor”" in page

    response = ask_for_the_list(editor_client, query, django_capture_on_commit_callbacks)
    text = response.content.decode()
    assert "The list is being prepared." in text
    export = PreparedExport.objects.get()
    assert export.kind == PreparedExport.Kind.LIST
    assert export.status == PreparedExport.Status.READY
    assert export.rows == export.rows_total == 5
    assert export.filename.startswith("subscribers-list-")

    page = editor_client.get(PAGE).content.decode()
    assert "Part of the subscriber list (CSV)" in page and "Donors" in page
    prepared = b"".join(
        editor_client.get(reverse("admin:export-download", args=[export.pk])).streaming_content
    )
    assert csv_addresses(prepared) == shown
    # The same bytes as the list's direct download, columns (newsletters, tags) included.
    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 100
    assert prepared == download(editor_client, f"{CSV}?{query}")
    assert b"Donors" in prepared

    (mail,) = mailoutbox
    assert "Your export is ready: Part of the subscriber list (CSV)" in mail.subject
    assert "https://news.example/admin/export/" in mail.body
    assert "donor-active-0@example.com" not in mail.body


def test_at_the_limit_the_list_downloads_at_once(editor_client, donors, settings):
    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 5
    query = f"status__exact=active&user__subscriber_tags__id__exact={donors.pk}"
    data = download(editor_client, f"{CSV}?{query}")
    assert csv_addresses(data) == shown_on_the_list(editor_client, query)
    assert not PreparedExport.objects.exists()


def test_the_whole_list_unfiltered_is_prepared_as_everyone(
    editor_client, donors, settings, django_capture_on_commit_callbacks
):
    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 3
    shown = {s.user.email for s in Subscription.objects.select_related("user")}
    ask_for_the_list(editor_client, "", django_capture_on_commit_callbacks)
    export = PreparedExport.objects.get()
    assert export.list_description == "everyone"
    data = b"".join(exports.file_pieces(export))
    assert csv_addresses(data) == shown


# --- Who may -----------------------------------------------------------------------------------


def test_staff_without_the_export_permission_get_403_on_every_new_address(client, donors, settings):
    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 1
    client.force_login(staff_with("view_subscription", "change_subscription"))
    for response in (
        client.get(f"{CSV}?status__exact=active"),
        client.post(PREPARE_LIST, {"query": "status__exact=active"}),
        client.get(PREPARE_LIST),
    ):
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert b"donor-active-0@example.com" not in response.content
    # Allowed to export but not to see the list: refused too.
    client.force_login(staff_with("export_subscribers"))
    assert client.post(PREPARE_LIST, {"query": ""}).status_code == HTTPStatus.FORBIDDEN
    assert not PreparedExport.objects.exists()


def test_asking_needs_a_post(editor_client, donors):
    assert editor_client.get(PREPARE_LIST).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert not PreparedExport.objects.exists()


def test_the_export_page_refuses_to_prepare_a_list_without_its_filters(editor_client, donors):
    response = editor_client.post(reverse("admin:export-prepare"), {"kind": "list"}, follow=True)
    assert "Choose which file to prepare." in response.content.decode()
    assert not PreparedExport.objects.exists()


# --- Two clicks --------------------------------------------------------------------------------


def test_two_clicks_on_the_same_list_make_one_export(
    editor_client, donors, settings, django_capture_on_commit_callbacks
):
    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 1
    query = f"status__exact=active&user__subscriber_tags__id__exact={donors.pk}"
    ask_for_the_list(editor_client, query, django_capture_on_commit_callbacks, run=False)
    # The same filters in another order, with a page number: the same list.
    again = f"p=2&user__subscriber_tags__id__exact={donors.pk}&status__exact=active"
    response = ask_for_the_list(editor_client, again, django_capture_on_commit_callbacks, run=False)
    assert "This list is being prepared already" in response.content.decode()
    assert PreparedExport.objects.count() == 1
    # Another list is another file, even while the first waits.
    ask_for_the_list(
        editor_client, "status__exact=unsubscribed", django_capture_on_commit_callbacks, run=False
    )
    assert PreparedExport.objects.busy().count() == 2


# --- Bad filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, says",
    [
        ("user__is_superuser__exact=1", "does not take these filters"),
        ("user__password__startswith=pbkdf2", "does not take these filters"),
        ("user__subscriber_tags__id__exact=abc", "does not take these filters"),
        ("status__exact=everyone", "no longer has"),
        ("user__subscriber_tags__id__exact=999999", "no longer has"),
        ("q=" + "x" * 3000, "too long"),
    ],
)
def test_forged_or_malformed_filters_get_a_message_and_no_export(
    editor_client, donors, settings, query, says
):
    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 1
    response = editor_client.get(f"{CSV}?{query}", follow=True)
    assert says in response.content.decode()
    assert response.redirect_chain[-1][0] == LIST
    response = editor_client.post(PREPARE_LIST, {"query": query}, follow=True)
    assert says in response.content.decode()
    assert not PreparedExport.objects.exists()


def test_a_tag_deleted_before_the_task_runs_fails_clearly_instead_of_another_list(
    editor_client, donors, settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 1
    query = f"user__subscriber_tags__id__exact={donors.pk}"
    ask_for_the_list(editor_client, query, django_capture_on_commit_callbacks, run=False)
    export = PreparedExport.objects.get()
    donors.delete()

    assert exports.write_export(export_id=export.pk) == PreparedExport.Status.FAILED
    export.refresh_from_db()
    assert "no longer has" in export.error and "Filter the subscriber list again" in export.error
    assert not export.chunks.exists()
    page = editor_client.get(PAGE).content.decode()
    assert "no longer has" in page
    assert reverse("admin:export-download", args=[export.pk]) not in page
    (mail,) = mailoutbox
    assert "Your export failed" in mail.subject and "no longer has" in mail.body


def test_a_stored_query_forged_in_the_database_is_refused_by_the_task(editor_client, donors):
    export = PreparedExport.objects.create(
        kind=PreparedExport.Kind.LIST,
        list_query="user__is_superuser__exact=1",
        list_description="status: Active",
        requested_by=editor_client.user,
        filename="subscribers-list.csv",
    )
    assert exports.write_export(export_id=export.pk) == PreparedExport.Status.FAILED
    export.refresh_from_db()
    assert "does not take these filters" in export.error
    assert not PreparedExportChunk.objects.exists()


def test_an_editor_who_lost_the_permission_gets_no_file(donors):
    former = staff_with("view_subscription")
    export = PreparedExport.objects.create(
        kind=PreparedExport.Kind.LIST, requested_by=former, filename="subscribers-list.csv"
    )
    assert exports.write_export(export_id=export.pk) == PreparedExport.Status.FAILED
    export.refresh_from_db()
    assert "may no longer export" in export.error
    assert not PreparedExportChunk.objects.exists()


# --- The page only reads; the worker tidies ----------------------------------------------------


def every_row_count() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_opening_the_export_page_changes_no_row(editor_client, publication, settings):
    settings.EXPORTS_STALE_SECONDS = 60
    settings.EXPORTS_KEEP_DAYS = 7
    stalled = PreparedExport.objects.create(
        kind="ghost",
        status=PreparedExport.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
        rows=2,
        rows_total=4,
        size=11,
    )
    PreparedExportChunk.objects.create(export=stalled, position=0, data=b'{"db":[{"me')
    expired = PreparedExport.objects.create(
        kind="csv",
        status=PreparedExport.Status.READY,
        filename="subscribers-old.csv",
        size=4,
        finished_at=timezone.now() - timedelta(days=8),
    )
    PreparedExportChunk.objects.create(export=expired, position=0, data=b"a,b\n")
    before = every_row_count()
    before_rows = list(PreparedExport.objects.order_by("pk").values())

    page = editor_client.get(PAGE).content.decode()
    fragment = editor_client.get(reverse("admin:export-list")).content.decode()
    refused = editor_client.get(reverse("admin:export-download", args=[expired.pk]))

    assert every_row_count() == before
    assert list(PreparedExport.objects.order_by("pk").values()) == before_rows
    for shown in (page, fragment):
        assert "Stopped" in shown and "stopped before the end" in shown
        assert "subscribers-old.csv" not in shown
    assert refused.status_code == HTTPStatus.NOT_FOUND
    # Nothing to wait for: the page does not keep asking.
    assert "every 2s" not in fragment


def test_the_next_export_task_tidies_first(
    editor_client, publication, settings, django_capture_on_commit_callbacks
):
    settings.EXPORTS_KEEP_DAYS = 7
    old = PreparedExport.objects.create(
        kind="csv",
        status=PreparedExport.Status.READY,
        filename="subscribers-old.csv",
        finished_at=timezone.now() - timedelta(days=8),
    )
    PreparedExportChunk.objects.create(export=old, position=0, data=b"a,b\n")
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(reverse("admin:export-prepare"), {"kind": "ghost"})
    assert not PreparedExport.objects.filter(pk=old.pk).exists()
    assert not PreparedExportChunk.objects.filter(export_id=old.pk).exists()
    assert PreparedExport.objects.get().status == PreparedExport.Status.READY


# --- Editor notices ----------------------------------------------------------------------------


def test_old_editor_notices_are_pruned_and_recent_ones_still_stop_a_second_email(
    publication, settings, mailoutbox
):
    settings.EDITOR_NOTICES_KEEP_DAYS = 30
    editor = EditorFactory()
    old = EditorNotice.objects.create(
        editor=editor, key="send-finished:1", sent_at=timezone.now() - timedelta(days=31)
    )
    recent = EditorNotice.objects.create(
        editor=editor, key="send-finished:2", sent_at=timezone.now() - timedelta(days=29)
    )
    said = StringIO()
    call_command("tidy_exports", stdout=said)
    assert "1 old editor notice(s) pruned" in said.getvalue()
    assert list(EditorNotice.objects.all()) == [recent]
    assert not EditorNotice.objects.filter(pk=old.pk).exists()

    def build():
        from django.core.mail import EmailMessage

        return EmailMessage(subject="Send finished", body="Done.", to=[editor.email])

    # The kept notice still does its work: the same occasion sends nothing.
    assert not send_editor_notice(editor=editor, key="send-finished:2", build=build)
    assert mailoutbox == []
