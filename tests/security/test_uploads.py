"""Uploads (post covers, author avatars) through the admin, as an editor sends them: anything that
is not a plain JPEG, PNG or WebP picture within the caps is refused with a message saying why,
and nothing is stored; accepted pictures are stored clean."""

import io
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import User
from posts.models import Post
from tests.factories import UserFactory
from tests.posts.admin_forms import admin_form_data
from tests.posts.pictures import GPS_IFD, jpeg_bytes, png_bomb, png_bytes, sideways_jpeg_with_gps

pytestmark = pytest.mark.django_db

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
)
HTML_AS_PNG = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, "GIF")
    return buffer.getvalue()


def truncated_png() -> bytes:
    return png_bytes((400, 300))[:600]


# (file name, bytes, content type the browser claims, what the editor is told)
REFUSED = {
    "text file": ("notes.txt", b"just some words", "text/plain", "not an image we can read"),
    "svg": ("logo.svg", SVG, "image/svg+xml", "not an image we can read"),
    "svg named png": ("logo.png", SVG, "image/png", "not an image we can read"),
    "html named png": ("photo.png", HTML_AS_PNG, "image/png", "not an image we can read"),
    "gif": ("anim.gif", gif_bytes(), "image/gif", "GIF images are not supported"),
    "decompression bomb": ("bomb.png", png_bomb(50_000, 50_000), "image/png", "too many pixels"),
    "truncated png": ("cut.png", truncated_png(), "image/png", "damaged or incomplete"),
}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def stored_files(settings) -> list[str]:
    root = settings.MEDIA_ROOT
    return (
        sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        if root.exists()
        else []
    )


def post_with_cover(client, upload):
    data = admin_form_data(
        client,
        "/admin/posts/post/add/",
        title="With a cover",
        slug="with-a-cover",
        cover_alt="A description",
        status="draft",
    )
    data["cover"] = upload
    return client.post("/admin/posts/post/add/", data)


def avatar_for(client, user, upload):
    url = f"/admin/accounts/user/{user.pk}/change/"
    data = admin_form_data(client, url)
    data["avatar"] = upload
    return client.post(url, data)


@pytest.mark.parametrize("case", REFUSED, ids=str)
def test_covers_refuse_what_is_not_a_picture(admin_client, settings, case):
    name, content, content_type, message = REFUSED[case]
    response = post_with_cover(admin_client, SimpleUploadedFile(name, content, content_type))
    assert response.status_code == HTTPStatus.OK  # the form again, with the reason
    assert message in response.content.decode()
    assert not Post.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.parametrize("case", REFUSED, ids=str)
def test_avatars_refuse_what_is_not_a_picture(admin_client, settings, case):
    author = UserFactory(is_staff=True)
    name, content, content_type, message = REFUSED[case]
    response = avatar_for(admin_client, author, SimpleUploadedFile(name, content, content_type))
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert not User.objects.get(pk=author.pk).avatar
    assert stored_files(settings) == []


def test_huge_files_are_refused_before_they_are_decoded(admin_client, settings):
    settings.POSTS_IMAGE_MAX_BYTES = 20_000
    author = UserFactory(is_staff=True)
    big = jpeg_bytes((1800, 1200))
    assert len(big) > 20_000
    for response in (
        post_with_cover(admin_client, SimpleUploadedFile("big.jpg", big, "image/jpeg")),
        avatar_for(admin_client, author, SimpleUploadedFile("big.jpg", big, "image/jpeg")),
    ):
        assert response.status_code == HTTPStatus.OK
        assert "Please upload a smaller file" in response.content.decode()
    assert stored_files(settings) == []


def test_an_avatar_is_stored_small_upright_and_without_its_metadata(admin_client, settings):
    author = UserFactory(is_staff=True)
    # A real photo under a misleading name: the stored name follows what the file is.
    upload = SimpleUploadedFile("me.png", sideways_jpeg_with_gps(), "image/png")
    response = avatar_for(admin_client, author, upload)
    assert response.status_code == HTTPStatus.FOUND
    author.refresh_from_db()
    assert author.avatar.name.startswith("avatars/") and author.avatar.name.endswith(".jpg")
    stored = (settings.MEDIA_ROOT / author.avatar.name).read_bytes()
    assert b"Jane Photographer" not in stored and b"taken at home" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (20, 40)  # turned upright
        assert not image.getexif().get_ifd(GPS_IFD)


def test_a_large_avatar_is_scaled_down(admin_client, settings):
    author = UserFactory(is_staff=True)
    upload = SimpleUploadedFile("big.png", png_bytes((2000, 1000)), "image/png")
    assert avatar_for(admin_client, author, upload).status_code == HTTPStatus.FOUND
    author.refresh_from_db()
    with Image.open(settings.MEDIA_ROOT / author.avatar.name) as image:
        assert max(image.size) == 800


def test_the_model_refuses_a_bad_avatar_from_any_form(settings):
    """The check sits on the model field too, so a future form cannot forget it."""
    from django.core.exceptions import ValidationError

    author = UserFactory(is_staff=True)
    author.avatar = SimpleUploadedFile("x.svg", SVG, "image/svg+xml")
    with pytest.raises(ValidationError) as refused:
        author.full_clean()
    assert "not an image we can read" in str(refused.value)
