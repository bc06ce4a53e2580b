"""The About page: written in the admin, linked from every page's footer."""

import pytest

from posts.models import Page

pytestmark = pytest.mark.django_db


def test_about_page_shows_what_the_editors_wrote(client):
    # The migration starts one, so the footer's link never leads nowhere.
    about = Page.objects.get(slug="about")
    about.title = "About us"
    about.body = "We write about cities.\n\nAnd <b>work</b>."
    about.save()
    html = client.get("/").content.decode()
    assert '<a href="/about/">About Future Forward</a>' in html
    page = client.get("/about/").content.decode()
    assert "<h1>About us</h1>" in page
    assert "<p>We write about cities.</p>" in page
    assert "&lt;b&gt;work&lt;/b&gt;" in page  # plain text, escaped


def test_editors_edit_pages_in_the_admin(editor_client):
    about = Page.objects.get(slug="about")
    response = editor_client.post(
        f"/admin/posts/page/{about.pk}/change/",
        {"slug": "about", "title": "Who we are", "body": "A small desk."},
    )
    assert response.status_code == 302
    assert "A small desk." in editor_client.get("/about/").content.decode()
