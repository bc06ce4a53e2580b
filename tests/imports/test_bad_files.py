"""Files that cannot be imported as a whole: a clear message, and nothing imported."""

import io
import zipfile

import pytest

from accounts.models import Subscription
from imports.models import Import
from posts.models import Post
from tests.imports.exports import substack_post, substack_reader, substack_zip

pytestmark = pytest.mark.django_db


def _nothing_imported():
    return Post.objects.count() == 0 and Subscription.objects.count() == 0


def test_a_zip_bomb_is_refused_before_it_is_unpacked(import_file):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("posts.csv", b"post_id,title\n")
        archive.writestr("posts/1.bomb.html", b"\0" * (20 * 1024 * 1024))

    job = import_file("substack", buffer.getvalue())

    assert job.status == Import.Status.REFUSED
    assert "zip bomb" in job.error
    assert _nothing_imported()


def test_a_zip_that_would_unpack_too_large_is_refused(import_file, settings):
    settings.IMPORTS_MAX_UNPACKED_BYTES = 1024
    data = substack_zip([substack_post(1, "long", "Long", body="<p>" + "word " * 1000 + "</p>")])

    job = import_file("substack", data)

    assert job.status == Import.Status.REFUSED
    assert "would unpack to" in job.error
    assert _nothing_imported()


def test_zip_member_names_are_never_used_as_paths(import_file, run, tmp_path, settings):
    data = substack_zip(
        [substack_post(1, "safe", "Safe")],
        extra={"../../outside.txt": "escaped", "/etc/evil.csv": "email\nx@example.com\n"},
    )

    job = run(import_file("substack", data))

    assert job.status == Import.Status.DONE
    assert Post.objects.filter(slug="safe").exists()
    assert not (tmp_path / "outside.txt").exists()
    assert not list(tmp_path.rglob("outside.txt"))


def test_a_file_over_the_size_limit_is_refused(import_file, settings):
    settings.IMPORTS_MAX_UPLOAD_BYTES = 100
    data = substack_zip([substack_post(1, "big", "Big")], [substack_reader("a@example.com")])

    job = import_file("substack", data)

    assert job.status == Import.Status.REFUSED
    assert "larger than" in job.error
    assert _nothing_imported()


def test_an_empty_file_and_a_file_that_is_not_a_zip_are_refused(import_file):
    assert "empty" in import_file("substack", b"").error
    job = import_file("substack", b"email\nada@example.com\n")
    assert job.status == Import.Status.REFUSED
    assert "not a zip file" in job.error
    assert _nothing_imported()


def test_posts_csv_with_the_wrong_columns_is_refused(import_file):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("posts.csv", "id,headline\n1,Hello\n")

    job = import_file("substack", buffer.getvalue())

    assert job.status == Import.Status.REFUSED
    assert "posts.csv has no 'post_id'" in job.error
    assert _nothing_imported()
