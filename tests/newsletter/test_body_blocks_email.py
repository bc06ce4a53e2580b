"""The editor's blocks in the newsletter email: images at one fixed width with absolute
addresses, the button, the callout and captions styled inline for mail clients."""

import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from newsletter import rendering
from newsletter.models import NewsletterSend
from posts.services import store_body_image
from tests.factories import PostFactory, UserFactory
from tests.posts.pictures import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    image = store_body_image(
        upload=SimpleUploadedFile("a.jpg", jpeg_bytes((1600, 1000)), "image/jpeg"),
        uploaded_by=None,
    )
    small = store_body_image(
        upload=SimpleUploadedFile("b.jpg", jpeg_bytes((300, 200)), "image/jpeg"),
        uploaded_by=None,
    )
    src = default_storage.url(image.largest()["name"])
    small_src = default_storage.url(small.largest()["name"])
    return PostFactory(
        body=(
            f'<p>Intro.</p><figure><img src="{src}" alt="A market street">'
            "<figcaption>Saturday market</figcaption></figure>"
            f'<p><img src="{small_src}" alt="A small map"></p>'
            '<p class="cta"><a class="button" href="https://example.org/walk">Join the walk</a></p>'
            '<div class="callout"><p>Bring water.</p></div><hr>'
        )
    )


def email_html(post) -> str:
    rendered = rendering.render_newsletter(
        post=post, mode=NewsletterSend.Mode.FULL, teaser_words=150
    )
    return rendering.personalise(rendered, user=UserFactory()).alternatives[0][0]


def test_images_go_out_at_one_fixed_width_with_absolute_addresses(post):
    html = email_html(post)
    big, small = re.findall(r"<img [^>]*alt=\"A [^>]*>", html)
    rendition = r'src="http://testserver/media/body/[0-9a-f]{16}-[0-9a-f]{8}-1200w\.webp"'
    assert re.search(rendition, big)
    assert 'width="524" height="328"' in big
    assert "srcset" not in big and "loading" not in big
    # An image narrower than the column keeps its own size.
    assert 'width="300" height="200"' in small
    assert "max-width:100%" in big


def test_button_callout_and_caption_are_styled_inline(post):
    html = email_html(post)
    colors = rendering.palette().light
    button = re.search(r'<a class="ff-button" style="([^"]*)" href="([^"]*)"', html)
    assert button, html
    assert button.group(2) == "https://example.org/walk"
    assert f"background:{colors['accent']}" in button.group(1)
    assert f"color:{colors['accent_ink']}" in button.group(1)
    callout = re.search(r'<div class="ff-box" style="([^"]*)"><p[^>]*>Bring water.', html)
    assert callout and f"border:1px solid {colors['accent']}" in callout.group(1)
    assert re.search(r'<figcaption style="[^"]*">Saturday market</figcaption>', html)
    assert re.search(r'<hr style="[^"]*">', html)


def test_plain_text_part_names_the_images_and_the_button_address(post):
    rendered = rendering.render_newsletter(
        post=post, mode=NewsletterSend.Mode.FULL, teaser_words=150
    )
    assert "[A market street]\n\nSaturday market\n" in rendered.text
    assert "Join the walk (https://example.org/walk)" in rendered.text
