"""An editor imports a Substack zip and a Ghost export in Chromium, with the real task worker
(`manage.py db_worker` in its own process) doing the dry run and the import.

Set FF_SCREENSHOTS to a folder to keep screenshots of the import pages at 375 and 1280 pixels
wide."""

import re

import pytest

from tests.browsing import screenshots_folder, shoot
from tests.factories import EditorFactory, ensure_default_newsletter
from tests.imports.exports import (
    ghost_export,
    ghost_member,
    ghost_post,
    substack_post,
    substack_reader,
    substack_zip,
)
from tests.newsletter.conftest import Worker, free_port, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def worker(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    running = Worker(worker_env(free_port()), tmp_path / "worker.log", "import-worker")
    running.wait_started()
    yield running
    running.stop()


def _import_through_the_admin(page, *, kind_label: str, filename: str, data: bytes, shot: str):
    page.goto("/admin/")
    page.get_by_role("link", name="Imports").first.click()
    page.get_by_role("link", name=re.compile("Add import", re.I)).click()
    page.get_by_label(kind_label).check()
    page.set_input_files(
        "input[name=file]",
        files=[{"name": filename, "mimeType": "application/octet-stream", "buffer": data}],
    )
    page.get_by_label(re.compile("agreed to receive")).check()
    shoot(page, f"import-{shot}-upload")
    page.get_by_role("button", name="Upload and check").click()

    # The worker reads the file; htmx swaps the dry run in without a reload.
    page.get_by_text("Dry run done: nothing is imported yet").wait_for()
    assert page.get_by_role("table").first.is_visible()
    shoot(page, f"import-{shot}-dry-run")
    page.get_by_role("button", name="Import now").click()
    page.get_by_text("Imported. Below is what the import did.").wait_for()
    page.reload()  # the image list below the progress box is drawn with the page
    bar = page.locator("#import-progress progress")
    assert bar.get_attribute("value") == bar.get_attribute("max")
    shoot(page, f"import-{shot}-done")


def test_substack_and_ghost_exports_import_end_to_end(open_page, worker):
    ensure_default_newsletter()
    editor = EditorFactory(display_name="Morgan")
    page = open_page(editor, width=1280, timeout=20_000)

    substack = substack_zip(
        [
            substack_post(3101, "tides-and-towns", "Tides and towns", subtitle="A coastal week"),
            substack_post(3102, "members-corner", "Members corner", audience="only_paid"),
        ],
        [
            substack_reader("harbour.reader@example.com"),
            substack_reader("left.long.ago@example.com", email_disabled="true"),
        ],
    )
    _import_through_the_admin(
        page,
        kind_label="Substack export (.zip)",
        filename="export.zip",
        data=substack,
        shot="substack-1280",
    )

    ghost = ghost_export(
        posts=[
            ghost_post(
                "g1",
                "orchard-diary",
                "Orchard diary",
                custom_excerpt="Spring rows",
                feature_image="https://images.example.org/orchard.jpg",
                html='<p>Rows of pear trees.</p><img src="https://images.example.org/pears.jpg" '
                'alt="Pears on a branch">',
            )
        ],
        members=[ghost_member("m1", "orchard.reader@example.com", name="Orchard Reader")],
    )
    _import_through_the_admin(
        page,
        kind_label="Ghost export (.json, or the members .csv)",
        filename="ghost.json",
        data=ghost,
        shot="ghost-1280",
    )

    # The posts are on the site, and their old addresses lead there.
    page.goto("/p/tides-and-towns/")
    assert page.get_by_role("heading", name="Tides and towns").is_visible()
    page.goto("/orchard-diary/")
    assert page.url.endswith("/p/orchard-diary/")
    assert page.get_by_role("heading", name="Orchard diary").is_visible()

    # The subscribers are in the admin's list, with the import as their source.
    page.goto("/admin/accounts/subscription/?q=example.com")
    listing = page.locator("#result_list").inner_text()
    assert "harbour.reader@example.com" in listing
    assert "orchard.reader@example.com" in listing
    assert "import" in listing

    if screenshots_folder():
        phone = open_page(editor, width=375, timeout=20_000)
        phone.goto("/admin/imports/import/add/")
        shoot(phone, "import-upload-375")
        phone.goto("/admin/imports/import/")
        phone.get_by_role("link", name="export.zip").click()
        shoot(phone, "import-substack-375-done")


@pytest.mark.parametrize("width", [375, 1280])
def test_the_import_pages_have_no_serious_accessibility_violations(open_page, width):
    from imports.models import Import
    from tests.a11y.test_axe import violations

    ensure_default_newsletter()
    editor = EditorFactory()
    job = Import.objects.create(
        kind="ghost",
        filename="ghost.json",
        data=b"{}",
        status=Import.Status.CHECKED,
        created_by=editor,
        counts={"post": {"create": 1, "problem": 1}},
        progress_total=2,
        report=[
            {
                "what": "post",
                "where": "post 1",
                "key": "a",
                "action": "create",
                "message": "new post (published).",
            },
            {
                "what": "post",
                "where": "post 2",
                "key": "b",
                "action": "problem",
                "message": "a Ghost page, not a post; left out.",
            },
        ],
    )
    # The Content-Security-Policy would refuse the injected checker; bypassed for it only.
    page = open_page(editor, width=width, timeout=20_000, bypass_csp=True)
    found = {}
    for path in ["/admin/imports/import/add/", f"/admin/imports/import/{job.pk}/change/"]:
        page.goto(path)
        found[path] = violations(page)
    assert {path: v for path, v in found.items() if v} == {}
