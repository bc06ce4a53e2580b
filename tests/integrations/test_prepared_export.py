"""Exports prepared in the background: the file a task writes into the database, the list on
the export page, the download, the email to the editor who asked, who may do what, two clicks
at once, a worker that dies and files that expire."""

import json
import threading
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from integrations import exports
from integrations.models import PreparedExport, PreparedExportChunk
from tests.factories import EditorFactory, ensure_default_newsletter, make_subscribers
from tests.integrations.test_export import CSV, GHOST, PAGE, download, staff_with

pytestmark = pytest.mark.django_db
PREPARE = reverse("admin:export-prepare")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://news.example"


def prepare(client, kind: str, capture):
    """Post "Prepare" as the page's button does; the task runs once the request commits."""
    with capture(execute=True):
        response = client.post(PREPARE, {"kind": kind})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == PAGE
    return response


def download_url(export: PreparedExport) -> str:
    return reverse("admin:export-download", args=[export.pk])


def delete_url(export: PreparedExport) -> str:
    return reverse("admin:export-delete", args=[export.pk])


def without_the_moment(document: dict) -> dict:
    """The Ghost file minus what says when it was written (the export's moment), so two
    exports of the same data compare equal."""
    db = document["db"][0]
    db["meta"].pop("exported_on")
    for table, fields in {
        "tags": ("created_at", "updated_at"),
        "roles": ("created_at", "updated_at"),
        "newsletters": ("updated_at",),
    }.items():
        for row in db["data"][table]:
            for field in fields:
                row[field] = None
    return document


def ready_export(kind="ghost", *, data=b'{"db":[]}', by=None, finished_days_ago=0):
    finished = timezone.now() - timedelta(days=finished_days_ago)
    export = PreparedExport.objects.create(
        kind=kind,
        status=PreparedExport.Status.READY,
        filename="futureforward-test.ghost.json",
        size=len(data),
        requested_by=by,
        finished_at=finished,
    )
    PreparedExportChunk.objects.create(export=export, position=0, data=data)
    return export


# --- The file ---------------------------------------------------------------------------------


def test_the_prepared_ghost_file_is_the_direct_download(
    editor_client, publication, settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.EXPORTS_CHUNK_BYTES = 1000  # several pieces, so their order matters
    prepare(editor_client, "ghost", django_capture_on_commit_callbacks)

    export = PreparedExport.objects.get()
    assert export.status == PreparedExport.Status.READY
    assert export.chunks.count() > 2
    assert export.rows == export.rows_total == 4
    page = editor_client.get(PAGE).content.decode()
    assert "Prepared files" in page and download_url(export) in page

    response = editor_client.get(download_url(export))
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Disposition"] == f'attachment; filename="{export.filename}"'
    assert response["Content-Type"] == "application/json; charset=utf-8"
    prepared = b"".join(response.streaming_content)
    assert len(prepared) == export.size == int(response["Content-Length"])
    direct = download(editor_client, GHOST)
    assert without_the_moment(json.loads(prepared)) == without_the_moment(json.loads(direct))

    # The editor who asked hears of it: a link to the page, never the file or a subscriber.
    (mail,) = mailoutbox
    assert mail.to == [editor_client.user.email]
    assert "Your export is ready" in mail.subject
    assert "https://news.example/admin/export/" in mail.body
    assert download_url(export) not in mail.body
    assert "active@example.com" not in mail.body and not mail.attachments


def test_the_prepared_csv_is_the_subscriber_lists_csv(
    editor_client, publication, django_capture_on_commit_callbacks
):
    prepare(editor_client, "csv", django_capture_on_commit_callbacks)
    export = PreparedExport.objects.get(kind="csv")
    assert export.filename.endswith(".csv")
    response = editor_client.get(download_url(export))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    prepared = b"".join(response.streaming_content)
    assert prepared == download(editor_client, CSV)
    assert b"active@example.com" in prepared and b"Weekly digest" in prepared


# --- Who may --------------------------------------------------------------------------------


def test_staff_without_the_permission_cannot_see_prepare_download_or_delete(
    client, publication, django_capture_on_commit_callbacks
):
    export = ready_export(data=b'{"secret":"active@example.com"}')
    client.force_login(staff_with("view_subscription", "change_subscription"))
    for response in (
        client.get(PAGE),
        client.get(reverse("admin:export-list")),
        client.post(PREPARE, {"kind": "ghost"}),
        client.get(download_url(export)),
        client.post(delete_url(export)),
    ):
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert b"active@example.com" not in response.content
    assert list(PreparedExport.objects.all()) == [export]
    assert export.chunks.count() == 1


def test_any_permitted_editor_downloads_a_file_someone_else_asked_for(client, publication):
    asker = EditorFactory()
    export = ready_export(data=b'{"db":"theirs"}', by=asker)
    client.force_login(staff_with("view_subscription", "export_subscribers"))
    page = client.get(PAGE).content.decode()
    assert download_url(export) in page
    response = client.get(download_url(export))
    assert b"".join(response.streaming_content) == b'{"db":"theirs"}'


def test_forged_or_unfinished_ids_get_404(editor_client, publication):
    running = PreparedExport.objects.create(
        kind="ghost", status=PreparedExport.Status.RUNNING, heartbeat_at=timezone.now()
    )
    PreparedExportChunk.objects.create(export=running, position=0, data=b'{"db":[{"me')
    assert editor_client.get(download_url(running)).status_code == HTTPStatus.NOT_FOUND
    assert editor_client.get("/admin/export/prepared/999999/download/").status_code == 404
    assert editor_client.post("/admin/export/prepared/999999/delete/").status_code == 404
    assert editor_client.get("/admin/export/prepared/abc/download/").status_code == 404
    # A half-written file is never offered.
    assert download_url(running) not in editor_client.get(PAGE).content.decode()


def test_an_unknown_kind_is_refused_with_a_message(editor_client, publication):
    response = editor_client.post(PREPARE, {"kind": "everything"}, follow=True)
    assert "Choose which file to prepare." in response.content.decode()
    response = editor_client.post(PREPARE, {}, follow=True)
    assert "Choose which file to prepare." in response.content.decode()
    assert not PreparedExport.objects.exists()
    assert editor_client.get(PREPARE).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_the_email_goes_once_and_not_to_an_editor_who_lost_the_permission(publication, mailoutbox):
    editor = EditorFactory()
    export = ready_export(by=editor)
    assert exports.notify_requester(export=export)
    assert not exports.notify_requester(export=export)
    assert len(mailoutbox) == 1
    former = staff_with("view_subscription")
    assert not exports.notify_requester(export=ready_export(by=former))
    assert len(mailoutbox) == 1


# --- Two clicks, dead workers, old files ------------------------------------------------------


def test_a_second_click_while_one_is_queued_gives_the_same_export(editor_client, publication):
    # No on_commit capture: the task stays queued, as when every worker is busy.
    editor_client.post(PREPARE, {"kind": "ghost"})
    response = editor_client.post(PREPARE, {"kind": "ghost"}, follow=True)
    assert "This file is being prepared already" in response.content.decode()
    (export,) = PreparedExport.objects.all()
    assert export.status == PreparedExport.Status.QUEUED
    assert "It starts as soon as a background worker is free." in response.content.decode()
    # Another kind is another file.
    editor_client.post(PREPARE, {"kind": "csv"})
    assert PreparedExport.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_the_same_moment_make_one_export(settings):
    # The task waits in the queue, as it does for a real worker: run at once, the first
    # export could be finished before the second click looks, and a new file is then right.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    ensure_default_newsletter()
    editors = [EditorFactory(), EditorFactory()]
    start = threading.Barrier(2)
    results = []

    def click(editor):
        try:
            start.wait()
            results.append(exports.prepare_export(kind="ghost", user=editor))
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(editor,)) for editor in editors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert PreparedExport.objects.count() == 1
    assert PreparedExport.objects.get().status == PreparedExport.Status.QUEUED
    assert sorted(created for _export, created in results) == [False, True]
    assert len({export.pk for export, _created in results}) == 1


def test_an_export_whose_worker_went_quiet_shows_stopped_and_is_marked_failed_by_tidy(
    editor_client, publication, settings
):
    settings.EXPORTS_STALE_SECONDS = 60
    stalled = PreparedExport.objects.create(
        kind="ghost",
        status=PreparedExport.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(seconds=61),
        size=11,
    )
    PreparedExportChunk.objects.create(export=stalled, position=0, data=b'{"db":[{"me')
    alive = PreparedExport.objects.create(
        kind="csv", status=PreparedExport.Status.RUNNING, heartbeat_at=timezone.now()
    )
    # The page says so at once, by what it reads: stopped, no download, nothing to wait for.
    fragment = editor_client.get(reverse("admin:export-list")).content.decode()
    assert "Stopped" in fragment and "stopped before the end" in fragment
    assert download_url(stalled) not in fragment
    assert fragment.count('class="ff-prepared-failed"') == 1
    assert 'data-hx-trigger="every 2s"' in fragment  # the live export is still waited on

    # The worker's tidy pass writes it down and frees the pieces.
    assert exports.tidy()["stalled"] == 1
    stalled.refresh_from_db()
    assert stalled.status == PreparedExport.Status.FAILED
    assert "stopped before the end" in stalled.error
    assert not stalled.chunks.exists()
    alive.refresh_from_db()
    assert alive.status == PreparedExport.Status.RUNNING


def test_a_stalled_export_does_not_block_a_new_one(editor_client, publication, settings):
    settings.EXPORTS_STALE_SECONDS = 60
    stalled = PreparedExport.objects.create(
        kind="ghost",
        status=PreparedExport.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(seconds=61),
    )
    response = editor_client.post(PREPARE, {"kind": "ghost"}, follow=True)
    assert "The file is being prepared." in response.content.decode()
    stalled.refresh_from_db()
    assert stalled.status == PreparedExport.Status.FAILED
    assert PreparedExport.objects.busy().filter(kind="ghost").count() == 1


def test_files_are_hidden_after_the_set_days_and_deleted_by_tidy(
    editor_client, publication, settings
):
    settings.EXPORTS_KEEP_DAYS = 7
    old = ready_export(finished_days_ago=8)
    recent = ready_export(finished_days_ago=6)
    failed = PreparedExport.objects.create(
        kind="csv",
        status=PreparedExport.Status.FAILED,
        finished_at=timezone.now() - timedelta(days=9),
    )
    page = editor_client.get(PAGE).content.decode()
    assert download_url(recent) in page and download_url(old) not in page
    assert delete_url(old) not in page and delete_url(failed) not in page
    assert editor_client.get(download_url(old)).status_code == HTTPStatus.NOT_FOUND

    assert exports.tidy()["expired"] == 2
    assert list(PreparedExport.objects.all()) == [recent]
    assert not PreparedExportChunk.objects.filter(export_id__in=[old.pk, failed.pk]).exists()


def test_an_editor_deletes_a_file_by_hand_and_a_deleted_export_is_never_written(
    editor_client, publication
):
    export = ready_export()
    response = editor_client.post(delete_url(export), follow=True)
    assert "The prepared file is deleted." in response.content.decode()
    assert not PreparedExport.objects.exists() and not PreparedExportChunk.objects.exists()

    queued = PreparedExport.objects.create(kind="ghost")
    editor_client.post(delete_url(queued))
    assert exports.write_export(export_id=queued.pk) == "gone"
    assert not PreparedExportChunk.objects.exists()


def test_an_export_deleted_while_it_is_written_stops_and_leaves_nothing(publication, settings):
    settings.EXPORTS_CHUNK_BYTES = 500
    export = PreparedExport.objects.create(kind="ghost")
    pieces = []

    def delete_after_the_first_piece(*args, **kwargs):
        pieces.append(1)
        if len(pieces) == 2:
            PreparedExport.objects.filter(pk=export.pk).delete()

    from django.db.models.signals import post_save

    post_save.connect(delete_after_the_first_piece, sender=PreparedExportChunk)
    try:
        assert exports.write_export(export_id=export.pk) == "gone"
    finally:
        post_save.disconnect(delete_after_the_first_piece, sender=PreparedExportChunk)
    assert not PreparedExport.objects.exists() and not PreparedExportChunk.objects.exists()


# --- Small and large publications -------------------------------------------------------------


def test_a_small_publication_keeps_the_direct_downloads(editor_client, publication):
    page = editor_client.get(PAGE).content.decode()
    assert "Download the Ghost JSON file" in page and "Download all subscribers (CSV)" in page
    assert "Prepare it in the background" in page


def test_a_large_publication_prepares_its_files_instead(editor_client, publication, settings):
    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 3  # the publication has 4
    page = editor_client.get(PAGE).content.decode()
    assert "Download the Ghost JSON file" not in page
    assert "Prepare the Ghost JSON file" in page and "Prepare the subscribers CSV" in page
    assert "With 4 subscribers (more than 3)" in page
    response = editor_client.get(GHOST, follow=True)
    assert "too large to export while you wait" in response.content.decode()
    assert not response.streaming


def test_the_count_of_subscribers_written_shows_while_it_runs(editor_client, publication):
    make_subscribers(6)
    PreparedExport.objects.create(
        kind="ghost",
        status=PreparedExport.Status.RUNNING,
        heartbeat_at=timezone.now(),
        rows=5,
        rows_total=10,
        size=2048,
    )
    fragment = editor_client.get(reverse("admin:export-list")).content.decode()
    assert "5 of 10 subscribers" in fragment
    assert 'value="50"' in fragment
    assert 'data-hx-trigger="every 2s"' in fragment
