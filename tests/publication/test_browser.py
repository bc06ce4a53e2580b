"""An editor changes the accent colour and the logo in the admin, in a real browser, and sees
both on the home page and in the next email."""

import pytest
from playwright.sync_api import expect

from newsletter import rendering
from newsletter.models import NewsletterSend
from publication.models import Publication
from tests.browsing import RECORD_VIOLATIONS, shoot
from tests.factories import PostFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PLUM = "#7a1f5c"
PLUM_RGB = "rgb(122, 31, 92)"


def logo_png() -> bytes:
    """A wide logo: a plum bar with a white square, easy to tell apart from the old site."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 120), PLUM)
    ImageDraw.Draw(image).rectangle((30, 20, 110, 100), fill="white")
    buffer = BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_an_editor_changes_the_accent_and_logo_and_sees_them_on_the_site_and_in_email(
    editor_page, open_context, live_server, settings
):
    settings.SITE_URL = live_server.url  # so the email's logo loads from this server
    Publication.objects.clear_cache()
    Publication.objects.current()  # the row, even after an earlier test flushed the tables
    post = PostFactory(title="Cities after cars", body='<p>Read <a href="/about/">this</a>.</p>')
    page = editor_page

    page.goto("/admin/")
    page.get_by_role("link", name="Publication").first.click()
    expect(page.locator("#id_accent_color")).to_have_value("#0b4f6c")

    # A colour too light for the white page is refused, with its ratio; nothing changes.
    page.locator("#id_accent_color").fill("#999999")
    page.locator("input[name='_continue']").click()
    expect(page.locator(".errorlist")).to_contain_text("contrast ratio of 2.61:1")
    assert Publication.objects.get().accent_color == "#0b4f6c"

    # A dark plum passes; the logo goes through the upload checks.
    page.locator("#id_accent_color").fill(PLUM)
    page.locator("#id_logo").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": logo_png()}
    )
    page.locator("input[name='_continue']").click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert Publication.objects.get().accent_color == PLUM
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "publication-settings", widths=(375, 1280))
    assert page.evaluate("window.__cspViolations") == []

    # A reader's home page: the logo in the header and the plum on links and buttons.
    reader = open_context()
    reader.add_init_script(RECORD_VIOLATIONS)
    home = reader.new_page()
    home.goto("/")
    logo = home.locator(".site-header .brand-logo")
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 480
    accent = home.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
    )
    assert accent == PLUM
    button = home.locator(".masthead .subscribe-form button")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == PLUM_RGB
    shoot(home, "publication-home", widths=(375, 1280))
    assert home.evaluate("window.__cspViolations") == []

    # The next email: rendered now, it has the logo and the plum too.
    message = rendering.personalise(
        rendering.render_newsletter(post=post, mode=NewsletterSend.Mode.FULL, teaser_words=150),
        user=UserFactory(),
    )
    html = message.alternatives[0][0]
    email = reader.new_page()
    email.set_content(html, wait_until="load")
    email_logo = email.locator("img").first
    assert email_logo.evaluate("img => img.complete && img.naturalWidth") == 480
    assert email_logo.get_attribute("height") == "40"
    link = email.get_by_role("link", name="this")
    assert link.evaluate("a => getComputedStyle(a).color") == PLUM_RGB
    shoot(email, "publication-email", widths=(375, 1280))
