"""Part of the subscriber list prepared by the real task worker (`manage.py db_worker`): an
editor filters the list in Chromium, exports it, follows it on the export page, downloads it
and gets the email; the worker tidies what the page only shows.

Set FF_SCREENSHOTS to a folder to keep screenshots of the pages at 375 and 1280 pixels.
"""

import csv
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Subscription
from integrations.models import PreparedExport, PreparedExportChunk
from newsletter.models import SubscriberTag
from tests.browsing import screenshots_folder, shoot
from tests.factories import EditorFactory, ensure_default_newsletter, make_subscribers
from tests.newsletter.conftest import (
    parse_messages,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.browser
def test_an_editor_exports_a_long_filtered_list_through_the_worker(
    open_page, settings, smtp, worker_for, tmp_path
):
    ensure_default_newsletter()
    donors = SubscriberTag.objects.create(name="Donors")
    active = make_subscribers(25, prefix="donor")
    gone = make_subscribers(5, prefix="lapsed", status=Subscription.Status.UNSUBSCRIBED)
    make_subscribers(10, prefix="other")
    donors.readers.add(*active, *gone)
    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 20  # the filtered list has 25
    settings.EXPORTS_STALE_SECONDS = 60
    editor = EditorFactory(display_name="Robin Editor")
    # A stalled export the page shows as stopped; the worker marks it failed.
    stalled = PreparedExport.objects.create(
        kind="ghost",
        status=PreparedExport.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(minutes=10),
        requested_by=editor,
    )
    PreparedExportChunk.objects.create(export=stalled, position=0, data=b'{"db":[')
    worker_for(smtp.port)

    page = open_page(editor, width=1280, timeout=30_000, accept_downloads=True)
    page.goto(
        f"/admin/accounts/subscription/?status__exact=active&user__subscriber_tags__id__exact={donors.pk}"
    )
    shown = set(page.locator("#result_list tbody th a").all_inner_texts())
    assert len(shown) == 25
    page.get_by_role("link", name="Export CSV (this list)").click()
    assert page.get_by_text("This list has more than 20 subscribers").is_visible()
    shoot(page, "list-export-1280-prepare")
    page.get_by_role("button", name="Prepare this list (CSV)").click()
    assert page.get_by_text("The list is being prepared.").is_visible()
    assert page.url.endswith("/admin/export/")

    link = page.locator("#prepared-exports").get_by_role("link", name="Download")
    link.wait_for()
    row = page.locator("#prepared-exports tbody tr").first.inner_text()
    assert "Part of the subscriber list (CSV)" in row and "Donors" in row
    assert "Robin Editor" in row and "Ready" in row
    shoot(page, "list-export-1280-ready")
    with page.expect_download() as downloading:
        link.click()
    saved = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(saved)
    with saved.open(newline="") as file:
        assert {row["email"] for row in csv.DictReader(file)} == shown
    page.context.close()

    if screenshots_folder():
        phone = open_page(editor, width=375, timeout=30_000)
        phone.goto("/admin/export/")
        shoot(phone, "list-export-375-ready")
        phone.goto(
            f"/admin/accounts/subscription/export/?user__subscriber_tags__id__exact={donors.pk}"
        )
        shoot(phone, "list-export-375-prepare")
        phone.context.close()

    wait_for(lambda: smtp.handler.raw, message="no email arrived")
    (mail,) = parse_messages(smtp.handler.raw)
    assert mail["To"] == editor.email
    assert "Your export is ready: Part of the subscriber list (CSV)" in mail["Subject"]
    assert "donor0@example.com" not in mail.get_body(preferencelist=("plain",)).get_content()

    # The worker tidied on its way: the stalled export is failed and its piece gone.
    wait_for(
        lambda: PreparedExport.objects.filter(
            pk=stalled.pk, status=PreparedExport.Status.FAILED
        ).exists(),
        message="the stalled export was not marked failed",
    )
    assert not PreparedExportChunk.objects.filter(export=stalled).exists()


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 1280])
def test_the_list_export_pages_have_no_serious_accessibility_violations(open_page, settings, width):
    from tests.a11y.test_axe import violations

    ensure_default_newsletter()
    donors = SubscriberTag.objects.create(name="Donors")
    donors.readers.add(*make_subscribers(3, prefix="donor"))
    settings.EXPORTS_DIRECT_MAX_SUBSCRIBERS = 1
    editor = EditorFactory()
    ready = PreparedExport.objects.create(
        kind=PreparedExport.Kind.LIST,
        list_query=f"user__subscriber_tags__id__exact={donors.pk}",
        list_description="subscriber tag: Donors",
        status=PreparedExport.Status.READY,
        filename="subscribers-list-2026-01-01.csv",
        size=4,
        requested_by=editor,
        finished_at=timezone.now(),
    )
    PreparedExportChunk.objects.create(export=ready, position=0, data=b"a,b\n")
    PreparedExport.objects.create(
        kind="ghost",
        status=PreparedExport.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(hours=1),
        requested_by=editor,
    )
    # The Content-Security-Policy would refuse the injected checker; bypassed for it only.
    page = open_page(editor, width=width, bypass_csp=True)
    found = {}
    page.goto("/admin/export/")
    assert page.get_by_text("Stopped").is_visible()
    found["export page"] = violations(page)
    page.goto(f"/admin/accounts/subscription/export/?user__subscriber_tags__id__exact={donors.pk}")
    assert page.get_by_role("button", name="Prepare this list (CSV)").is_visible()
    found["prepare page"] = violations(page)
    assert found == {"export page": [], "prepare page": []}
