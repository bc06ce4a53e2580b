"""Every main page is well-formed HTML, and the attributes browsers and validators are strict
about are valid: <time datetime> (at most three fraction digits) and no made-up attributes
(htmx reads its data-hx-* form)."""

import re

import html5lib
import pytest
from django.test import Client

from tests.factories import (
    CommentFactory,
    EditorFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

# A valid global date and time string (or a date), HTML's own grammar, to the second or with
# up to three digits of a fraction, then Z or an offset.
DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2}))?$"
)
# Attributes HTML does not define that templates have been known to write.
NOT_HTML = re.compile(r"^hx-")


def problems(html: str) -> list[str]:
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
    document = parser.parse(html)
    found = [f"parse error {error} at {position}" for position, error, _ in parser.errors]
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if NOT_HTML.match(name):
                found.append(f"<{element.tag} {name}> is not an HTML attribute")
            if element.tag == "time" and name == "datetime" and not DATETIME.match(value):
                found.append(f"<time datetime={value!r}> is not a valid date and time")
    return found


@pytest.fixture
def site():
    author = EditorFactory(display_name="Morgan")
    tag = TagFactory(name="Cities", slug="cities")
    post = PostFactory(title="Trams after dark", slug="trams")
    post.authors.add(author)
    post.tags.add(tag)
    PollFactory(post=post)
    CommentFactory(post=post, author=SubscriptionFactory().user)
    return {"post": post, "author": author, "tag": tag}


def pages(site):
    post = site["post"]
    return [
        "/",
        "/archive/",
        "/search/?q=trams",
        f"/tag/{site['tag'].slug}/",
        f"/author/{site['author'].pk}/",
        post.get_absolute_url(),
        "/subscribe/",
        "/accounts/login/code/",
        "/accounts/login/",
        "/about/",
        "/no-such-page/",
    ]


def test_every_main_page_is_valid_for_anonymous_readers(site):
    client = Client()
    for path in pages(site):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert problems(response.content.decode()) == [], path


def test_every_main_page_is_valid_for_a_logged_in_reader(site):
    client = Client()
    client.force_login(SubscriptionFactory().user)
    for path in [*pages(site), "/account/"]:
        if path.startswith(("/subscribe/", "/accounts/login")):
            continue
        response = client.get(path)
        assert problems(response.content.decode()) == [], path


def test_the_editors_admin_pages_are_valid(site):
    """The admin's shell (sections, the queue's count, the phone menu, filter chips) parses
    cleanly, with no id used twice."""
    client = Client()
    client.force_login(site["author"])
    for path in [
        "/admin/",
        "/admin/posts/post/",
        "/admin/posts/post/?audience__exact=everyone",
        "/admin/comments/comment/?queue=review",
        "/admin/notices/",
        "/admin/export/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert problems(html) == [], path
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert sorted({i for i in ids if ids.count(i) > 1}) == [], path
