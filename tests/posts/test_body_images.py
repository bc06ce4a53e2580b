"""Images inside a post's body: the editor's upload endpoint, and the sanitiser that keeps only
the images our pipeline made."""

import re
from http import HTTPStatus

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from posts.models import BodyImage, Post
from posts.services import store_body_image
from tests.factories import EditorFactory, PostFactory, UserFactory
from tests.posts.pictures import jpeg_bytes, png_bomb, png_bytes

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:posts_post_body_image")


def upload(client, content: bytes, name="photo.jpg", content_type="image/jpeg"):
    return client.post(UPLOAD, {"image": SimpleUploadedFile(name, content, content_type)})


def stored_files(media_root) -> list:
    folder = media_root / "body"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def staff_client(client):
    client.force_login(EditorFactory())
    return client


def make_image(size=(1600, 900)) -> BodyImage:
    return store_body_image(
        upload=SimpleUploadedFile("a.jpg", jpeg_bytes(size), "image/jpeg"), uploaded_by=None
    )


def figure(image: BodyImage, alt="A tram at dusk", caption="") -> str:
    src = default_storage.url(image.rendition_for(1200)["name"])
    caption_html = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure><img src="{src}" alt="{alt}">{caption_html}</figure>'


# --- The upload endpoint ------------------------------------------------------------------


def test_an_editor_uploads_an_image_and_gets_webp_renditions_with_their_size(
    staff_client, _media_in_tmp
):
    response = upload(staff_client, jpeg_bytes((1000, 600)))

    assert response.status_code == HTTPStatus.CREATED
    data = response.json()
    assert (data["width"], data["height"]) == (1000, 600)
    image = BodyImage.objects.get()
    assert data["src"] == default_storage.url(image.largest()["name"])
    assert [r["width"] for r in sorted(image.renditions, key=lambda r: r["width"])] == [
        480,
        800,
        1000,
    ]
    files = stored_files(_media_in_tmp)
    assert len(files) == 3
    with Image.open(files[0]) as stored:
        assert stored.format == "WEBP"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"%PDF-1.4 not a picture at all", "report.png", "not an image we can read"),
        (png_bomb(20_000, 20_000), "bomb.png", "too many pixels"),
        (jpeg_bytes()[:3000], "cut.jpg", "damaged or incomplete"),
        (b"", "empty.jpg", "This file is empty"),
    ],
    ids=["not-an-image", "decompression-bomb", "truncated", "empty-file"],
)
def test_a_bad_image_gets_a_clear_message_and_nothing_is_stored(
    staff_client, _media_in_tmp, content, name, message
):
    response = upload(staff_client, content, name=name)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.json()["error"]
    assert not BodyImage.objects.exists()
    assert stored_files(_media_in_tmp) == []


def test_a_request_without_a_file_is_told_so(staff_client):
    response = staff_client.post(UPLOAD, {})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "No image arrived" in response.json()["error"]


def test_a_huge_upload_is_refused_before_it_is_read(staff_client, settings, _media_in_tmp):
    settings.POSTS_IMAGE_MAX_BYTES = 100 * 1024
    response = upload(staff_client, png_bytes((800, 500)) + b"\0" * 300 * 1024)

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "too large; the limit is 100.0\xa0KB" in response.json()["error"]
    assert not BodyImage.objects.exists()
    assert stored_files(_media_in_tmp) == []


def test_an_image_over_the_limit_inside_the_envelope_is_refused_too(staff_client, settings):
    settings.POSTS_IMAGE_MAX_BYTES = 40 * 1024
    response = upload(staff_client, jpeg_bytes((1000, 600)) + b"\0" * 50 * 1024)
    assert response.status_code in {HTTPStatus.BAD_REQUEST, HTTPStatus.REQUEST_ENTITY_TOO_LARGE}
    assert "limit" in response.json()["error"]
    assert not BodyImage.objects.exists()


def test_a_malformed_multipart_body_is_refused_and_stores_nothing(staff_client, _media_in_tmp):
    response = staff_client.generic(
        "POST",
        UPLOAD,
        b"--xyz\r\nContent-Disposition: form-data; name=image; filename=a.jpg\r\n\r\n\xff\xd8",
        content_type="multipart/form-data; boundary=xyz",
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not BodyImage.objects.exists()
    assert stored_files(_media_in_tmp) == []


@pytest.mark.parametrize("who", ["anonymous", "reader", "staff-without-permission"])
def test_only_editors_who_may_write_posts_can_upload(client, who, _media_in_tmp):
    if who == "reader":
        client.force_login(UserFactory())
    elif who == "staff-without-permission":
        client.force_login(UserFactory(is_staff=True))

    response = upload(client, jpeg_bytes())

    if who == "staff-without-permission":
        assert response.status_code == HTTPStatus.FORBIDDEN
    else:
        assert response.status_code == HTTPStatus.FOUND
        assert "/login/" in response["Location"]
    assert not BodyImage.objects.exists()
    assert stored_files(_media_in_tmp) == []


def test_a_forged_upload_without_the_csrf_token_is_refused(_media_in_tmp):
    client = Client(enforce_csrf_checks=True)
    client.force_login(EditorFactory())

    response = upload(client, jpeg_bytes())

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not BodyImage.objects.exists()
    assert stored_files(_media_in_tmp) == []


def test_the_upload_with_the_csrf_token_of_the_edit_page_works():
    client = Client(enforce_csrf_checks=True)
    client.force_login(EditorFactory())
    client.get(reverse("admin:posts_post_add"))
    token = client.cookies["csrftoken"].value

    response = client.post(
        UPLOAD,
        {"image": SimpleUploadedFile("a.jpg", jpeg_bytes(), "image/jpeg")},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == HTTPStatus.CREATED


def test_get_is_not_an_upload(staff_client):
    assert staff_client.get(UPLOAD).status_code == HTTPStatus.METHOD_NOT_ALLOWED


# --- The sanitiser ------------------------------------------------------------------------


def test_our_image_is_kept_with_srcset_sizes_size_and_lazy_loading():
    image = make_image((1600, 900))
    post = PostFactory(body="<p>Before.</p>" + figure(image, caption="The <em>last</em> tram"))

    img = re.search(r"<img [^>]*>", post.body).group(0)
    assert 'width="1600" height="900"' in img
    assert 'alt="A tram at dusk"' in img
    assert 'loading="lazy"' in img
    assert 'sizes="(min-width: 44rem) 42rem, 100vw"' in img
    srcset = re.search(r'srcset="([^"]*)"', img).group(1)
    assert [item.split()[1] for item in srcset.split(", ")] == ["480w", "800w", "1200w", "1600w"]
    assert "<figcaption>The <em>last</em> tram</figcaption></figure>" in post.body


def test_saving_again_keeps_the_image_as_it_was():
    image = make_image()
    post = PostFactory(body=figure(image))
    first = post.body
    post.save()
    assert Post.objects.get(pk=post.pk).body == first


@pytest.mark.parametrize(
    "src",
    [
        "https://lh3.googleusercontent.com/docs/photo.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "/media/covers/renditions/cover-ab12cd34-800w.webp",
        "/media/body/0123456789abcdef-00000000-800w.webp",  # our shape, but no such upload
        "file:///C:/Users/me/AppData/Local/Temp/msohtmlclip1/01/clip_image002.png",
    ],
    ids=["other-site", "data-url", "a-cover", "unknown-key", "word-temp-file"],
)
def test_images_that_our_pipeline_did_not_make_are_dropped_with_their_figure(src):
    post = PostFactory(
        body=f'<p>Text.</p><figure><img src="{src}" alt="x"><figcaption>Cap</figcaption>'
        f'</figure><p>More.</p><img src="{src}" alt="y">'
    )
    assert post.body == "<p>Text.</p><p>More.</p>"


def test_an_image_without_alt_text_is_dropped_by_the_sanitiser():
    image = make_image()
    post = PostFactory(body="<p>Text.</p>" + figure(image, alt="  "))
    assert post.body == "<p>Text.</p>"
