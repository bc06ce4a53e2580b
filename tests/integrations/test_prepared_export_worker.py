"""Prepared exports with the real task worker (`manage.py db_worker` in its own process): an
editor prepares the Ghost file in Chromium, waits on the page, downloads it and gets the email;
a worker killed halfway leaves a failed export and no half file.

Set FF_SCREENSHOTS to a folder to keep screenshots of the export page at 375 and 1280 pixels
wide, before and after a file is ready."""

import json
import re
import signal

import pytest
from django.db import connection, transaction

from integrations.models import PreparedExport, PreparedExportChunk
from tests.browsing import screenshots_folder, shoot
from tests.factories import EditorFactory, ensure_default_newsletter, make_subscribers
from tests.newsletter.conftest import (
    free_port,
    parse_messages,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.browser
def test_an_editor_prepares_waits_and_downloads_the_ghost_file(
    open_page, settings, smtp, worker_for, tmp_path
):
    ensure_default_newsletter()
    make_subscribers(30, prefix="reader")
    # A "large" publication for this test: no direct download, only the prepared file.
    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 10
    editor = EditorFactory(display_name="Robin Editor")
    worker_for(smtp.port)

    if screenshots_folder():
        phone = open_page(editor, width=375, timeout=30_000)
        phone.goto("/admin/export/")
        shoot(phone, "export-375-before")
    page = open_page(editor, width=1280, timeout=30_000, accept_downloads=True)
    page.goto("/admin/")
    page.get_by_role("link", name="Export", exact=True).first.click()
    assert page.get_by_text("With 30 subscribers (more than 10)").is_visible()
    assert page.get_by_role("link", name="Download the Ghost JSON file").count() == 0
    shoot(page, "export-1280-before")

    page.get_by_role("button", name="Prepare the Ghost JSON file").click()
    assert page.get_by_text("The file is being prepared.").is_visible()
    # The worker writes it; htmx swaps the list until a Download link shows, without a reload.
    link = page.locator("#prepared-exports").get_by_role("link", name="Download")
    link.wait_for()
    row = page.locator("#prepared-exports tbody tr").first.inner_text()
    assert "The whole publication (Ghost JSON)" in row and "Robin Editor" in row
    assert "Ready" in row
    shoot(page, "export-1280-ready")

    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert re.fullmatch(r"futureforward-\d{4}-\d\d-\d\d\.ghost\.json", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    members = json.loads(saved.read_text())["db"][0]["data"]["members"]
    assert {member["email"] for member in members} == {
        f"reader{index}@example.com" for index in range(30)
    }

    # The email reached the real SMTP listener, with the page's address and no file.
    wait_for(lambda: smtp.handler.raw, message="no email arrived")
    (mail,) = parse_messages(smtp.handler.raw)
    assert mail["To"] == editor.email
    assert "Your export is ready" in mail["Subject"]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "http://testserver/admin/export/" in body
    assert "reader0@example.com" not in body
    assert not list(mail.iter_attachments())

    if screenshots_folder():
        phone.goto("/admin/export/")
        shoot(phone, "export-375-ready")


def test_a_worker_killed_halfway_leaves_a_failed_export_and_no_file(client, settings, worker_for):
    ensure_default_newsletter()
    # Enough subscribers that the first piece (1 MiB) is stored before the last table.
    make_subscribers(3000, prefix="a-rather-long-address-for-the-size-of-the-file-")
    editor = EditorFactory()
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    from integrations.exports import prepare_export

    export, _created = prepare_export(kind="ghost", user=editor)
    # The export's last table is the newsletters each subscriber gets: holding it locked stops
    # the worker there, after it has stored its first piece, so it is killed halfway for sure.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE newsletter_membership IN ACCESS EXCLUSIVE MODE")
        running = worker_for(free_port())
        wait_for(
            lambda: PreparedExport.objects.filter(pk=export.pk, size__gt=0).exists(),
            timeout=60,
            message=running.output,
        )
        running.process.send_signal(signal.SIGKILL)
        running.process.wait()
    export.refresh_from_db()
    assert export.status == PreparedExport.Status.RUNNING
    assert PreparedExportChunk.objects.filter(export=export).exists()

    # Once the task has been quiet for the set time, the next visit says what happened (by
    # reading: the page writes nothing), and the tidy pass (cron, or the next export's task)
    # marks it failed and deletes the half file.
    settings.EXPORTS_STALE_SECONDS = 0
    client.force_login(editor)
    page = client.get("/admin/export/").content.decode()
    assert "stopped before the end" in page
    from io import StringIO

    from django.core.management import call_command

    said = StringIO()
    call_command("tidy_exports", stdout=said)
    assert "1 stalled export(s) marked failed" in said.getvalue()
    export.refresh_from_db()
    assert export.status == PreparedExport.Status.FAILED
    assert f"/admin/export/prepared/{export.pk}/download/" not in page
    assert not PreparedExportChunk.objects.filter(export=export).exists()
    assert client.get(f"/admin/export/prepared/{export.pk}/download/").status_code == 404


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 1280])
def test_the_export_page_has_no_serious_accessibility_violations(open_page, width):
    from django.utils import timezone

    from tests.a11y.test_axe import violations

    ensure_default_newsletter()
    editor = EditorFactory()
    ready = PreparedExport.objects.create(
        kind="csv",
        status=PreparedExport.Status.READY,
        filename="subscribers-2026-01-01.csv",
        size=4,
        requested_by=editor,
        finished_at=timezone.now(),
    )
    PreparedExportChunk.objects.create(export=ready, position=0, data=b"a,b\n")
    PreparedExport.objects.create(
        kind="ghost",
        status=PreparedExport.Status.RUNNING,
        heartbeat_at=timezone.now(),
        rows=1,
        rows_total=3,
        requested_by=editor,
    )
    # The Content-Security-Policy would refuse the injected checker; bypassed for it only.
    page = open_page(editor, width=width, timeout=30_000, bypass_csp=True)
    page.goto("/admin/export/")
    found = violations(page)
    assert found == []
