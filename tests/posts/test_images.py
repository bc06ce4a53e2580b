"""Cover images: what the admin refuses, and what it stores for what it accepts."""

import io
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.images import clean_image, validate_image_upload
from posts.models import Post
from tests.factories import PostFactory
from tests.posts.admin_forms import admin_form_data
from tests.posts.pictures import (
    GPS_IFD,
    jpeg_bytes,
    png_bomb,
    png_bytes,
    sideways_jpeg_with_gps,
)

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/posts/post/add/"
_WHOLE = jpeg_bytes()
TRUNCATED_JPEG = _WHOLE[: len(_WHOLE) // 2]


def upload(content: bytes, name="cover.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def files_under(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- The checks themselves ---


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"%PDF-1.4 this is not a picture", "not_an_image"),
        (b"", "not_an_image"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "not_an_image",
        ),
        (TRUNCATED_JPEG, "corrupt_image"),  # a real JPEG, cut in half
        (png_bomb(8000, 6000), "too_many_pixels"),  # 48 Mpx: over our cap, under Pillow's
        (png_bomb(50_000, 50_000), "too_many_pixels"),  # 2.5 Gpx: Pillow's bomb guard
    ],
    ids=["pdf", "empty", "svg", "truncated-jpeg", "48-megapixels", "pixel-bomb"],
)
def test_unreadable_or_hostile_uploads_are_refused_with_a_reason(content, code):
    with pytest.raises(ValidationError) as error:
        validate_image_upload(upload(content))
    assert error.value.code == code


def test_an_upload_over_the_size_cap_is_refused_before_it_is_decoded(settings):
    settings.POSTS_IMAGE_MAX_BYTES = 10_000
    big = jpeg_bytes((1200, 900))
    assert len(big) > 10_000
    with pytest.raises(ValidationError) as error:
        validate_image_upload(upload(big))
    assert error.value.code == "file_too_large"
    assert "limit is 9.8\xa0KB" in error.value.messages[0]


def test_gif_is_refused_as_unsupported():
    buffer = io.BytesIO()
    Image.new("P", (10, 10)).save(buffer, "GIF")
    with pytest.raises(ValidationError) as error:
        validate_image_upload(upload(buffer.getvalue(), "a.gif", "image/gif"))
    assert error.value.code == "unsupported_format"


def test_clean_image_turns_the_picture_upright_and_strips_personal_data():
    clean = clean_image(upload(sideways_jpeg_with_gps()))
    image = Image.open(io.BytesIO(clean.content))
    # Orientation 6 means "rotate 90° clockwise": the 40 × 20 picture becomes 20 × 40 and its
    # red left half ends up on top.
    assert image.size == (20, 40) == (clean.width, clean.height)
    top, bottom = image.getpixel((10, 5)), image.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60
    exif = image.getexif()
    assert not exif.get_ifd(GPS_IFD)
    assert GPS_IFD not in exif and 0x013B not in exif and 0x0112 not in exif
    assert "exif" not in image.info and "comment" not in image.info
    assert b"Jane Photographer" not in clean.content and b"taken at home" not in clean.content


def test_clean_image_keeps_transparency_and_caps_the_long_edge(settings):
    settings.POSTS_IMAGE_MAX_EDGE = 400
    clean = clean_image(upload(png_bytes((800, 500)), "c.png", "image/png"))
    image = Image.open(io.BytesIO(clean.content))
    assert image.format == "PNG" and image.mode == "RGBA"
    assert image.size == (400, 250) and clean.extension == "png"


# --- Saving a post with a cover ---


def test_saving_a_cover_stores_a_clean_copy_and_webp_renditions(settings):
    settings.POSTS_IMAGE_WIDTHS = (480, 800, 1200)
    post = PostFactory(cover_alt="A test pattern")
    post.cover = ContentFile(jpeg_bytes((1000, 600)), name="raw.jpg")
    post.save()

    post.refresh_from_db()
    assert (post.cover_width, post.cover_height) == (1000, 600)
    assert [(r["width"], r["height"]) for r in post.cover_renditions] == [
        (480, 288),
        (800, 480),
        (1000, 600),  # never upscaled to 1200: the original width closes the list
    ]
    for rendition in post.cover_renditions:
        path = settings.MEDIA_ROOT / rendition["name"]
        with Image.open(path) as image:
            assert image.format == "WEBP" and image.width == rendition["width"]
    assert "480w" in post.cover_srcset and "1000w" in post.cover_srcset


def test_a_cover_already_in_storage_is_cleaned_and_the_raw_file_removed(
    settings, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    raw_name = default_storage.save("covers/raw-upload.jpg", ContentFile(sideways_jpeg_with_gps()))
    post = PostFactory(cover_alt="x")
    post.cover.name = raw_name
    with django_capture_on_commit_callbacks(execute=True):
        post.save()
    assert not default_storage.exists(raw_name)
    with Image.open(settings.MEDIA_ROOT / post.cover.name) as image:
        assert image.size == (20, 40) and not image.getexif()


def test_replacing_or_clearing_a_cover_deletes_the_old_files(
    settings, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    post = PostFactory(cover_alt="x", cover=ContentFile(jpeg_bytes(), name="one.jpg"))
    first = [post.cover.name] + [r["name"] for r in post.cover_renditions]
    with django_capture_on_commit_callbacks(execute=True):
        post.cover = ContentFile(jpeg_bytes(colour=(0, 0, 0)), name="two.jpg")
        post.save()
    assert not any(default_storage.exists(name) for name in first[1:])
    second = [r["name"] for r in post.cover_renditions]
    assert second and all(default_storage.exists(name) for name in second)

    with django_capture_on_commit_callbacks(execute=True):
        post.cover = None
        post.save()
    post.refresh_from_db()
    assert post.cover_renditions == [] and post.cover_width is None
    assert not any(default_storage.exists(name) for name in second)


def test_post_page_prints_cover_sizes_so_nothing_shifts(client):
    post = PostFactory(cover_alt="Waves at dusk", cover=ContentFile(jpeg_bytes(), name="c.jpg"))
    html = client.get(post.get_absolute_url()).content.decode()
    assert 'width="1000" height="600"' in html
    assert 'type="image/webp"' in html and "480w" in html
    assert 'alt="Waves at dusk"' in html


# --- Through the admin ---


def post_data(client, **values):
    base = {
        "title": "With a cover",
        "slug": "with-a-cover",
        "status": "draft",
        "audience": "everyone",
        "comments_mode": "open",
        "cover_alt": "A description",
    }
    return admin_form_data(client, ADD_URL, **(base | values))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"GIF89a not really", "not an image we can read"),
        (png_bomb(50_000, 50_000), "too many pixels"),
    ],
    ids=["not-an-image", "pixel-bomb"],
)
def test_admin_refuses_a_bad_upload_clearly_and_saves_nothing(
    editor_client, settings, content, message
):
    data = post_data(editor_client, cover=upload(content))
    response = editor_client.post(ADD_URL, data)
    assert response.status_code == HTTPStatus.OK  # the form again, with the error
    assert message in response.content.decode()
    assert not Post.objects.exists()
    assert files_under(settings.MEDIA_ROOT) == []


def test_admin_refuses_an_oversized_upload(editor_client, settings):
    settings.POSTS_IMAGE_MAX_BYTES = 5_000
    data = post_data(editor_client, cover=upload(jpeg_bytes((1400, 1000))))
    response = editor_client.post(ADD_URL, data)
    assert "the limit is 4.9\xa0KB" in response.content.decode()
    assert not Post.objects.exists()
    assert files_under(settings.MEDIA_ROOT) == []


def test_admin_requires_alt_text_with_a_cover(editor_client, settings):
    data = post_data(editor_client, cover=upload(jpeg_bytes()), cover_alt="")
    response = editor_client.post(ADD_URL, data)
    assert "Describe the cover for readers who cannot see it." in response.content.decode()
    assert not Post.objects.exists()


def test_admin_upload_with_gps_is_stored_upright_and_clean(editor_client, settings):
    data = post_data(editor_client, cover=upload(sideways_jpeg_with_gps(), "IMG_0001.jpg"))
    response = editor_client.post(ADD_URL, data)
    assert response.status_code == HTTPStatus.FOUND
    post = Post.objects.get(slug="with-a-cover")
    stored = (settings.MEDIA_ROOT / post.cover.name).read_bytes()
    assert b"Jane Photographer" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (20, 40)
        assert not image.getexif().get_ifd(GPS_IFD)
    assert post.cover_renditions and post.cover.name.startswith("covers/")
    assert "with-a-cover" in post.cover.name


def test_rebuild_covers_command_makes_missing_renditions(settings):
    from django.core.management import call_command

    post = PostFactory(cover_alt="x", cover=ContentFile(jpeg_bytes(), name="c.jpg"))
    Post.objects.filter(pk=post.pk).update(cover_renditions=[])
    settings.POSTS_IMAGE_WIDTHS = (300,)
    call_command("rebuild_covers")
    post.refresh_from_db()
    assert [r["width"] for r in post.cover_renditions] == [300, 1000]
    assert (settings.MEDIA_ROOT / post.cover.name).exists()


def test_cmyk_jpegs_are_stored_as_rgb():
    buffer = io.BytesIO()
    Image.new("CMYK", (60, 40), (0, 255, 255, 0)).save(buffer, "JPEG")
    clean = clean_image(upload(buffer.getvalue()))
    with Image.open(io.BytesIO(clean.content)) as image:
        assert image.mode == "RGB"
        red, green, blue = image.getpixel((30, 20))
        assert red > 200 and green < 60 and blue < 60
