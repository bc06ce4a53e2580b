"""allauth's own pages (email addresses, two-factor, reauthentication, password) render their
buttons through the site's button hierarchy: every button in the page's main content carries
.button, and allauth's "danger", "link" and "secondary"/"cancel" tags pick the variant."""

from html.parser import HTMLParser
from http import HTTPStatus

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from tests.factories import SubscriptionFactory
from tests.security.conftest import make_staff_editor

pytestmark = pytest.mark.django_db


class Buttons(HTMLParser):
    """(tag, classes, text) of every <button> and <a class=button…> inside <main>."""

    def __init__(self):
        super().__init__()
        self.in_main = 0
        self.found = []
        self.open = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "main":
            self.in_main += 1
        classes = (attrs.get("class") or "").split()
        if self.in_main and (tag == "button" or (tag == "a" and "button" in classes)):
            self.open = [tag, classes, ""]
            self.found.append(self.open)

    def handle_data(self, data):
        if self.open is not None:
            self.open[2] += data.strip()

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main -= 1
        if tag in ("button", "a"):
            self.open = None


def buttons(client, url):
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK, url
    parser = Buttons()
    parser.feed(response.content.decode())
    assert parser.found, f"no buttons on {url}"
    for tag, classes, text in parser.found:
        assert "button" in classes, f"{url}: <{tag}> {text!r} has {classes}"
    return {text: classes for _, classes, text in parser.found}


@pytest.fixture
def editor():
    return make_staff_editor()


@pytest.fixture
def editor_client(editor):
    client = Client()
    client.force_login(editor)
    client.post("/accounts/reauthenticate/", {"password": "editor-password-1"})
    return client


def test_email_page_buttons_follow_the_hierarchy(editor_client):
    found = buttons(editor_client, "/accounts/email/")
    assert "button-danger" in found["Remove"]
    assert "button-secondary" in found["Re-send Verification"]


def test_readers_email_page_has_site_buttons():
    client = Client()
    client.force_login(SubscriptionFactory().user)
    found = buttons(client, "/accounts/email/")
    assert "button-danger" in found["Remove"]


def test_reauthenticate_page_has_a_primary_button(editor):
    client = Client()
    client.force_login(editor)
    found = buttons(client, "/accounts/reauthenticate/")
    assert any(classes == ["button"] for classes in found.values())


def test_two_factor_pages_buttons_follow_the_hierarchy(editor_client, editor):
    buttons(editor_client, "/accounts/2fa/")
    page = buttons(editor_client, "/accounts/2fa/totp/activate/")
    assert any(classes == ["button"] for classes in page.values())

    TOTP.activate(editor, generate_totp_secret())
    buttons(editor_client, "/accounts/2fa/")
    deactivate = buttons(editor_client, "/accounts/2fa/totp/deactivate/")
    assert any("button-danger" in classes for classes in deactivate.values())


def test_password_pages_buttons_follow_the_hierarchy(editor_client):
    buttons(editor_client, "/accounts/password/change/")
    buttons(Client(), "/accounts/password/reset/")
