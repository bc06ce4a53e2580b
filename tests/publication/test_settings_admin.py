"""The settings page in the admin (Settings › Publication): one row, and every way an editor's
input can be wrong, refused with a message and the old value kept."""

from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse

from newsletter.models import Newsletter
from publication.models import Publication
from tests.factories import UserFactory
from tests.posts.admin_forms import admin_form_data
from tests.posts.pictures import jpeg_bytes, png_bomb, png_bytes

pytestmark = pytest.mark.django_db

URL = "/admin/publication/publication/1/change/"


def upload(content: bytes, name: str = "logo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def post(client, **values):
    return client.post(URL, admin_form_data(client, URL, **values))


def fresh() -> Publication:
    return Publication.objects.get(pk=1)


def stored_files(root) -> list:
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_the_list_is_the_one_row_and_there_is_nothing_to_add_or_delete(editor_client):
    response = editor_client.get("/admin/publication/publication/")
    assert response.status_code == HTTPStatus.FOUND and response["Location"] == URL
    page = editor_client.get(URL).content.decode()
    assert "Future Forward" in page and "welcome series" in page
    assert editor_client.get("/admin/publication/publication/add/").status_code == 403
    assert editor_client.get(URL.replace("change", "delete")).status_code == 403


def test_the_admin_index_lists_it_under_settings(editor_client):
    page = editor_client.get("/admin/").content.decode()
    assert "Settings" in page and "/admin/publication/publication/" in page


def test_readers_and_staff_without_the_permission_are_kept_out(client):
    assert client.get(URL).status_code == HTTPStatus.FOUND  # to the login
    reader = Client()
    reader.force_login(UserFactory())
    assert reader.get(URL)["Location"].startswith("/admin/login/")
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))
    assert staff.get(URL).status_code == HTTPStatus.FORBIDDEN
    assert staff.get("/admin/publication/publication/").status_code == HTTPStatus.FORBIDDEN
    response = staff.post(URL, {"name": "Taken over"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert fresh().name == "Future Forward"


def test_saving_changes_what_readers_see_at_once(editor_client, client):
    assert "Future Forward" in client.get("/").content.decode()  # stored in the page cache
    response = post(
        editor_client,
        name="The Long View",
        tagline="Slow news for fast times.",
        accent_color="#7A1F5C",
        footer_text="Made in a small room.",
    )
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[-3000:]
    saved = fresh()
    assert (saved.name, saved.accent_color) == ("The Long View", "#7a1f5c")
    home = client.get("/").content.decode()
    assert '<h1 class="masthead-name">The Long View</h1>' in home
    assert "Slow news for fast times." in home and "Made in a small room." in home
    assert "<title>The Long View</title>" in home


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        # Mid grey: 2.85:1 on the white page, and worse on the light grey panels.
        ("accent_color", "#999999", "contrast ratio of 2.61:1 against panels (#f4f5f7)"),
        # Today's light accent in the dark theme: far too dark on the dark panels.
        ("accent_color_dark", "#0b4f6c", "contrast ratio of 1.76:1 against panels (#1f2328)"),
        ("accent_color", "teal", "Enter a colour as # and six hexadecimal digits"),
        ("accent_color", "#12345g", "Enter a colour as # and six hexadecimal digits"),
        ("accent_color", "#0b4f6c; color: red", "Enter a colour as # and six hexadecimal digits"),
    ],
    ids=["fails-contrast-light", "fails-contrast-dark", "a-word", "not-hex", "css-injection"],
)
def test_a_colour_that_fails_is_refused_with_its_ratio_and_the_old_one_kept(
    editor_client, field, value, message
):
    before = getattr(fresh(), field)
    response = post(editor_client, **{field: value})
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert getattr(fresh(), field) == before


def test_a_colour_just_under_aa_is_refused_and_one_just_over_is_taken(editor_client):
    # #767676 passes on white (4.54:1) but not on the panels (4.16:1); #6e6e6e passes on both.
    assert "4.16:1 against panels" in post(editor_client, accent_color="#767676").content.decode()
    assert post(editor_client, accent_color="#6E6E6E").status_code == HTTPStatus.FOUND
    assert fresh().accent_color == "#6e6e6e"


def test_a_short_colour_is_widened(editor_client):
    assert post(editor_client, accent_color_dark="#fc0").status_code == HTTPStatus.FOUND
    assert fresh().accent_color_dark == "#ffcc00"


def test_a_good_logo_is_stored_cleaned_and_shown(editor_client, client, settings):
    response = post(editor_client, logo=upload(png_bytes((1600, 400))))
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[-2000:]
    saved = fresh()
    # Resized to the logo's longest edge, and its size recorded for width and height.
    assert (saved.logo_width, saved.logo_height) == (800, 200)
    home = client.get("/").content.decode()
    assert (
        f'<img class="brand-logo" src="{saved.logo.url}" alt="" width="800" height="200">' in home
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.7 definitely not a picture", "not an image we can read"),
        (png_bomb(50_000, 50_000), "too many pixels"),
        (png_bomb(8000, 6000), "8000 × 6000 pixels; the limit is 40 million pixels"),
    ],
    ids=["not-an-image", "pixel-bomb", "48-megapixels"],
)
def test_a_bad_logo_is_refused_clearly_and_the_old_one_kept(
    editor_client, settings, content, message
):
    assert post(editor_client, logo=upload(jpeg_bytes((300, 100)), "first.jpg")).status_code == 302
    old = fresh().logo.name
    files = stored_files(settings.MEDIA_ROOT)
    response = post(editor_client, logo=upload(content, "evil.png"))
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert fresh().logo.name == old
    assert stored_files(settings.MEDIA_ROOT) == files


def test_a_logo_over_the_size_limit_is_refused(editor_client, settings):
    settings.POSTS_IMAGE_MAX_BYTES = 5_000
    response = post(editor_client, logo=upload(jpeg_bytes((1400, 1000)), "big.jpg"))
    assert "the limit is 4.9\xa0KB" in response.content.decode()
    assert not fresh().logo
    assert stored_files(settings.MEDIA_ROOT) == []


def test_a_favicon_must_be_square(editor_client, client):
    response = post(editor_client, favicon=upload(png_bytes((300, 200)), "icon.png"))
    assert "A favicon must be square; this image is 300 × 200 pixels." in response.content.decode()
    assert post(editor_client, favicon=upload(png_bytes((256, 256)), "icon.png")).status_code == 302
    favicon = fresh().favicon
    home = client.get("/").content.decode()
    assert f'<link rel="icon" href="{favicon.url}">' in home
    assert "img/favicon.svg" not in home


def nav_rows(client, rows: list[tuple[str, str]]) -> dict:
    """Form data replacing the navigation links with rows (label, url)."""
    data = admin_form_data(client, URL)
    prefix = "navigation_links"
    initial = int(data[f"{prefix}-INITIAL_FORMS"])
    for i in range(initial):
        data[f"{prefix}-{i}-DELETE"] = "on"
    for offset, (label, url) in enumerate(rows):
        i = initial + offset
        data |= {
            f"{prefix}-{i}-label": label,
            f"{prefix}-{i}-url": url,
            f"{prefix}-{i}-position": i,
        }
    data[f"{prefix}-TOTAL_FORMS"] = str(initial + len(rows))
    return data


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<b>hi</b>", "//evil.example/"],
)
def test_a_navigation_link_that_is_not_a_web_address_is_refused(editor_client, client, url):
    response = editor_client.post(URL, nav_rows(editor_client, [("Click me", url)]))
    assert response.status_code == HTTPStatus.OK
    assert "Enter a path on this site starting with / or an address starting with https://" in (
        response.content.decode()
    )
    assert list(fresh().navigation_links.values_list("label", flat=True)) == ["Posts", "Search"]
    assert "Click me" not in client.get("/").content.decode()


def test_navigation_links_are_shown_in_order(editor_client, client):
    rows = [("About", "/about/"), ("Shop", "https://shop.example/"), ("Posts", "/archive/")]
    response = editor_client.post(URL, nav_rows(editor_client, rows))
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[-2000:]
    header = client.get("/").content.decode().split("</header>")[0]
    positions = [header.index(f">{label}</a>") for label, _ in rows]
    assert positions == sorted(positions)
    assert '<a href="https://shop.example/" rel="noopener">Shop</a>' in header
    assert ">Search</a>" not in header


def test_a_huge_footer_text_is_refused(editor_client):
    response = post(editor_client, footer_text="words " * 2000)
    assert "Ensure this value has at most 500 characters (it has 11999)." in (
        response.content.decode()
    )
    assert fresh().footer_text == "Written by people, for readers."


def test_a_name_with_a_line_break_is_refused(editor_client):
    response = post(editor_client, sender_name="Ed\r\nBcc: everyone@example.com")
    assert "Keep this to one line" in response.content.decode()
    assert fresh().sender_name == "Future Forward"


def test_social_profiles_must_be_on_their_network(editor_client, client):
    data = admin_form_data(editor_client, URL)
    data |= {
        "social_profiles-TOTAL_FORMS": "2",
        "social_profiles-0-network": "bluesky",
        "social_profiles-0-url": "https://evil.example/profile/ff",
        "social_profiles-0-position": "0",
        "social_profiles-1-network": "mastodon",
        "social_profiles-1-url": "https://social.example/@ff",
        "social_profiles-1-position": "1",
    }
    response = editor_client.post(URL, data)
    assert "A Bluesky profile&#x27;s address is on bsky.app." in response.content.decode()
    data["social_profiles-0-url"] = "https://bsky.app/profile/ff.example"
    assert editor_client.post(URL, data).status_code == HTTPStatus.FOUND
    footer = client.get("/").content.decode().split('<footer class="site-footer">')[1]
    assert '<a href="https://bsky.app/profile/ff.example" rel="me noopener">Bluesky</a>' in footer
    assert '<a href="https://social.example/@ff" rel="me noopener">Mastodon</a>' in footer


def test_the_email_section_links_to_the_default_newsletters_welcome_series(editor_client):
    newsletter = Newsletter.objects.default()
    page = editor_client.get(URL).content.decode()
    link = f'<a href="/admin/newsletter/newsletter/{newsletter.pk}/change/#welcome_steps-group">'
    assert link in page and f"Edit the welcome series of “{newsletter.name}”" in page
    for gone in ("welcome_subject", "welcome_body", "welcome-preview", "Preview these words"):
        assert gone not in page
    with pytest.raises(NoReverseMatch):
        reverse("admin:publication_publication_welcome_preview")
    # The page it points to is where the series is edited: the welcome steps inline.
    series = editor_client.get(f"/admin/newsletter/newsletter/{newsletter.pk}/change/")
    assert 'id="welcome_steps-group"' in series.content.decode()


def test_posting_the_old_welcome_words_changes_nothing(editor_client):
    step = Newsletter.objects.default().welcome_steps.order_by("position", "pk").first()
    step_words = (step.subject, step.body)
    response = post(editor_client, welcome_subject="Ignored hello", welcome_body="Ignored.")
    assert response.status_code == HTTPStatus.FOUND
    # The publication no longer has the words at all; the series keeps its own.
    assert not hasattr(fresh(), "welcome_subject")
    step.refresh_from_db()
    assert (step.subject, step.body) == step_words
