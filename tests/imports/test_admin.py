"""The imports in the admin: upload, dry run, confirmation, progress, refusals."""

from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Subscription
from imports.models import Import
from newsletter.models import Newsletter
from posts.models import Post
from tests.factories import EditorFactory, UserFactory
from tests.imports.exports import substack_post, substack_reader, substack_zip

pytestmark = pytest.mark.django_db
ADD = "/admin/imports/import/add/"


def _zip():
    return substack_zip(
        [substack_post(7, "hello-there", "Hello there")],
        [substack_reader("new.reader@example.com")],
    )


def _upload(client, data, **fields):
    return client.post(
        ADD,
        {
            "kind": "substack",
            "file": SimpleUploadedFile("export.zip", data, content_type="application/zip"),
            "newsletter": Newsletter.objects.default().pk,
            "consent": "on",
            **fields,
        },
    )


def test_the_form_preselects_the_default_newsletter_and_says_no_email_is_sent(editor_client):
    page = editor_client.get(ADD).content.decode()

    default = Newsletter.objects.default()
    assert f'<option value="{default.pk}" selected>' in page
    assert "get no confirmation or welcome email" in page


def test_upload_dry_run_confirm_and_done(editor_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(editor_client, _zip())
    job = Import.objects.get()
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"/admin/imports/import/{job.pk}/change/"

    page = editor_client.get(response["Location"]).content.decode()
    assert "Dry run done: nothing is imported yet" in page
    assert "What the import would do" in page and "Import now" in page
    assert "New subscriber." in page
    assert not Post.objects.filter(slug="hello-there").exists()

    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(f"/admin/imports/import/{job.pk}/start/")
    page = editor_client.get(f"/admin/imports/import/{job.pk}/change/").content.decode()
    assert "Imported. Below is what the import did." in page
    assert "2 of 2 rows" in page
    assert Post.objects.filter(slug="hello-there").exists()
    assert Subscription.objects.get(user__email="new.reader@example.com").source == "import"

    fragment = editor_client.get(f"/admin/imports/import/{job.pk}/progress/").content.decode()
    assert 'id="import-progress"' in fragment
    assert "data-hx-trigger" not in fragment  # done: the polling stops


def test_substack_posts_get_the_author_the_editor_chose(
    editor_client, editor, django_capture_on_commit_callbacks
):
    writer = EditorFactory(display_name="Noor Haddad")
    page = editor_client.get(ADD).content.decode()
    assert f'<option value="{editor.pk}" selected>' in page  # the uploader, unless changed
    assert "Noor Haddad" in page

    with django_capture_on_commit_callbacks(execute=True):
        _upload(editor_client, _zip(), posts_author=writer.pk)
    job = Import.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(f"/admin/imports/import/{job.pk}/start/")
    post = Post.objects.get(slug="hello-there")
    assert list(post.authors.all()) == [writer]


def test_an_author_who_is_not_staff_is_refused(editor_client):
    reader = UserFactory()
    response = _upload(editor_client, _zip(), posts_author=reader.pk)
    assert response.status_code == HTTPStatus.OK
    assert "Select a valid choice" in response.content.decode()
    assert not Import.objects.exists()


def test_a_running_import_polls_and_refreshes_without_javascript(editor_client, editor):
    job = Import.objects.create(
        kind="substack",
        filename="x.zip",
        data=b"x",
        status=Import.Status.RUNNING,
        progress_total=10,
        progress_done=4,
        created_by=editor,
    )

    page = editor_client.get(f"/admin/imports/import/{job.pk}/change/").content.decode()

    assert 'data-hx-trigger="every 2s"' in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert "4 of 10 rows" in page
    assert "Import now" not in page  # no second start while it runs


def test_starting_twice_runs_once(editor_client, editor, django_capture_on_commit_callbacks):
    job = Import.objects.create(
        kind="substack",
        filename="x.zip",
        data=_zip(),
        status=Import.Status.RUNNING,
        created_by=editor,
    )

    response = editor_client.post(f"/admin/imports/import/{job.pk}/start/", follow=True)

    assert "running already" in response.content.decode()


def test_consent_is_required_and_nothing_is_stored_without_it(editor_client):
    response = _upload(editor_client, _zip(), consent="")

    assert response.status_code == HTTPStatus.OK
    assert "Only import people who agreed" in response.content.decode()
    assert not Import.objects.exists()


def test_a_file_over_the_limit_is_refused_on_the_form(editor_client, settings):
    settings.IMPORTS_MAX_UPLOAD_BYTES = 200

    response = _upload(editor_client, _zip())

    assert "the limit is 200" in response.content.decode()
    assert not Import.objects.exists()


def test_a_refused_file_says_why_on_its_page(editor_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _upload(editor_client, b"\xff\xfeh\x00i\x00")
    job = Import.objects.get()

    page = editor_client.get(f"/admin/imports/import/{job.pk}/change/").content.decode()

    assert "The file cannot be imported, and nothing was." in page
    assert "not a zip file" in page
    assert "Import now" not in page


def test_readers_and_staff_without_permission_are_kept_out(client, editor):
    job = Import.objects.create(kind="substack", filename="x.zip", data=b"x", created_by=editor)
    reader = UserFactory()
    client.force_login(reader)
    assert client.get(ADD).status_code == HTTPStatus.FOUND  # to the admin login
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get(ADD).status_code == HTTPStatus.FORBIDDEN
    assert client.post(f"/admin/imports/import/{job.pk}/start/").status_code in {
        HTTPStatus.FORBIDDEN,
        HTTPStatus.NOT_FOUND,
    }
    job.refresh_from_db()
    assert job.status == Import.Status.CHECKING


def test_the_admin_navigation_has_an_import_entry(editor_client):
    page = editor_client.get("/admin/").content.decode()

    assert 'href="/admin/imports/import/"' in page


def test_the_pages_and_the_polling_never_load_the_uploaded_file(editor_client, editor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = Import.objects.create(
        kind="substack",
        filename="x.zip",
        data=b"x" * 100_000,
        status=Import.Status.RUNNING,
        created_by=editor,
    )
    with CaptureQueriesContext(connection) as queries:
        for path in [
            "/admin/imports/import/",
            f"/admin/imports/import/{job.pk}/change/",
            f"/admin/imports/import/{job.pk}/progress/",
        ]:
            assert editor_client.get(path).status_code == HTTPStatus.OK
    assert not [q["sql"] for q in queries.captured_queries if '"imports_import"."data"' in q["sql"]]
