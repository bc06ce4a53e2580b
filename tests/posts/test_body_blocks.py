"""The editor's blocks in the body (button, callout, divider, the poll's place), HTML pasted from
Word and Google Docs, the admin's refusal of an image without alt text, and how the reader's
page shows them."""

import re
from http import HTTPStatus

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from posts.models import Post
from posts.richtext import sanitize_body, split_at_poll_slot
from posts.services import store_body_image
from tests.factories import EditorFactory, PostFactory
from tests.posts.admin_forms import admin_form_data
from tests.posts.pictures import jpeg_bytes

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/posts/post/add/"

BUTTON = '<p class="cta"><a class="button" href="{}">Join the walk</a></p>'
LINK_REL = ' rel="noopener noreferrer"'


@pytest.mark.parametrize("href", ["https://example.org/walk", "http://example.org", "mailto:a@b.c"])
def test_a_button_to_a_web_or_mail_address_is_kept(href):
    assert sanitize_body(BUTTON.format(href)) == (
        f'<p class="cta"><a class="button" href="{href}"{LINK_REL}>Join the walk</a></p>'
    )


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", "data:text/html,<script>1</script>", "vbscript:x"]
)
def test_a_button_to_anything_else_loses_its_address(href):
    cleaned = sanitize_body(BUTTON.format(href))
    assert "href" not in cleaned
    assert "Join the walk" in cleaned


def test_callout_and_dividers_survive_and_other_classes_do_not():
    body = (
        '<div class="callout warning"><p>Remember the <strong>date</strong>.</p></div>'
        '<hr><hr class="more"><hr class="fancy"><div class="tableWrapper"><p>x</p></div>'
    )
    assert sanitize_body(body) == (
        '<div class="callout"><p>Remember the <strong>date</strong>.</p></div>'
        '<hr><hr class="more"><hr><div><p>x</p></div>'
    )


def test_one_poll_place_is_kept_and_the_body_splits_there():
    cleaned = sanitize_body(
        '<p>Before.</p><div class="poll-slot"></div><p>After.</p><div class="poll-slot"></div>'
    )
    assert cleaned == '<p>Before.</p><div class="poll-slot"></div><p>After.</p>'
    assert split_at_poll_slot(cleaned) == ("<p>Before.</p>", "<p>After.</p>")
    assert split_at_poll_slot("<p>No place.</p>") is None


WORD_HTML = """<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<style>p.MsoNormal{margin:0cm;font-family:Calibri}</style></head>
<body lang=EN-GB style='tab-interval:36.0pt'><!--StartFragment-->
<p class=MsoNormal><b><span lang=EN-US style='font-size:14.0pt;mso-bidi-font-family:Calibri'>Streets
for people</span></b><o:p></o:p></p>
<p class=MsoListParagraphCxSpFirst style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'><![if
!supportLists]><span style='font-family:Symbol'>·<span style='font:7.0pt "Times"'>&nbsp;</span>
</span><![endif]>First point<o:p></o:p></p>
<p class=MsoNormal><img width=200 height=100
src="file:///C:/Users/me/AppData/Local/Temp/msohtmlclip1/01/clip_image001.png"
v:shapes="Picture_x0020_1"><o:p></o:p></p>
<!--EndFragment--></body></html>"""

GOOGLE_DOCS_HTML = (
    '<meta charset="utf-8"><b style="font-weight:normal;" id="docs-internal-guid-7f3a">'
    '<p dir="ltr" style="line-height:1.38;margin-top:0pt;"><span style="font-size:11pt;'
    'font-family:Arial;color:#000000;">The plan</span><span style="font-style:italic"> works.'
    '</span></p><p dir="ltr"><span style="font-size:11pt"><img '
    'src="https://lh7-us.googleusercontent.com/docsz/AD_4nXf" width="602" height="339" '
    'style="margin-left:0px;margin-top:0px;"></span></p><p dir="ltr"><a '
    'href="https://example.org/plan" style="text-decoration:none;"><span style="color:#1155cc">'
    "the plan</span></a></p></b>"
)


def test_html_pasted_from_word_keeps_the_words_and_loses_the_rest():
    cleaned = sanitize_body(WORD_HTML)
    for leftover in ("Mso", "mso-", "style", "class", "o:p", "file:", "<img", "<span", "lang"):
        assert leftover not in cleaned, leftover
    assert "Streets\nfor people" in cleaned
    assert "First point" in cleaned
    assert "<p>" in cleaned


def test_html_pasted_from_google_docs_keeps_text_and_links_and_drops_its_images():
    cleaned = sanitize_body(GOOGLE_DOCS_HTML)
    assert cleaned == (
        f'<p>The plan works.</p><p><a href="https://example.org/plan"{LINK_REL}>the plan</a></p>'
    )


# --- The admin form --------------------------------------------------------------------------


@pytest.fixture
def image(_media_in_tmp):
    return store_body_image(
        upload=SimpleUploadedFile("a.jpg", jpeg_bytes((1200, 800)), "image/jpeg"),
        uploaded_by=None,
    )


def img(image, alt) -> str:
    src = default_storage.url(image.largest()["name"])
    return f'<figure><img src="{src}" alt="{alt}"><figcaption>On the bridge</figcaption></figure>'


def test_the_admin_refuses_a_body_with_an_image_without_alt_and_keeps_what_was_typed(
    editor_client, image
):
    body = "<p>My words.</p>" + img(image, alt="")
    data = admin_form_data(editor_client, ADD_URL, title="Bridges", slug="bridges", body=body)

    response = editor_client.post(ADD_URL, data)

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "An image in the body has no alt text." in page
    assert "My words." in page and image.key in page  # the body is still in the form
    assert not Post.objects.filter(slug="bridges").exists()


def test_a_picture_from_elsewhere_without_alt_is_dropped_not_refused(editor_client):
    body = '<p>My words.</p><p><img src="https://docs.example.com/pic.png"></p>'
    data = admin_form_data(editor_client, ADD_URL, title="Bridges", slug="bridges", body=body)

    response = editor_client.post(ADD_URL, data)

    assert response.status_code == HTTPStatus.FOUND
    assert Post.objects.get(slug="bridges").body == "<p>My words.</p>"


def test_the_admin_saves_a_body_with_images_and_blocks(editor_client, image):
    body = (
        "<p>My words.</p>"
        + img(image, alt="People crossing the bridge")
        + BUTTON.format("https://example.org/walk")
        + '<div class="callout"><p>Bring water.</p></div><hr><div class="poll-slot"></div>'
    )
    data = admin_form_data(editor_client, ADD_URL, title="Bridges", slug="bridges", body=body)

    response = editor_client.post(ADD_URL, data)

    assert response.status_code == HTTPStatus.FOUND
    saved = Post.objects.get(slug="bridges").body
    assert 'alt="People crossing the bridge"' in saved and "srcset=" in saved
    assert "<figcaption>On the bridge</figcaption>" in saved
    assert '<a class="button" href="https://example.org/walk"' in saved
    blocks = '<div class="callout"><p>Bring water.</p></div><hr><div class="poll-slot"></div>'
    assert blocks in saved


def test_the_editor_is_configured_with_the_blocks_and_the_upload_address(editor_client):
    page = editor_client.get(ADD_URL).content.decode()
    for name in ("BodyFigure", "CallToAction", "Callout", "PollSlot"):
        assert f"&quot;{name}&quot;" in page
    assert "/admin/posts/post/body-image/" in page
    assert "js/editor-blocks.js" in page


# --- The reader's page -----------------------------------------------------------------------


def test_the_post_page_shows_images_captions_buttons_and_callouts(client, image):
    post = PostFactory(
        body="<p>My words.</p>"
        + img(image, alt="People crossing the bridge")
        + BUTTON.format("https://example.org/walk")
        + '<div class="callout"><p>Bring water.</p></div>'
    )

    page = client.get(post.get_absolute_url()).content.decode()

    body = page[page.index('<div class="post-body">') :]
    tag = re.search(r"<img [^>]*>", body).group(0)
    for attribute in ('width="1200"', 'height="800"', 'loading="lazy"', "srcset=", "sizes="):
        assert attribute in tag
    assert "<figcaption>On the bridge</figcaption>" in body
    assert '<a class="button" href="https://example.org/walk"' in body
    assert '<div class="callout"><p>Bring water.</p></div>' in body


def test_the_demo_shows_an_image_with_its_caption_and_a_callout(_media_in_tmp):
    from posts.demo import seed

    featured = next(post for post in seed(editor=EditorFactory()) if post.is_featured)

    assert re.search(r'<figure><img src="[^"]*/body/[^"]*" srcset="', featured.body)
    assert "<figcaption>Most firms that ran a pilot kept the shorter week.</figcaption>" in (
        featured.body
    )
    assert '<div class="callout"><p><strong>In short:</strong>' in featured.body
