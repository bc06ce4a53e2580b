"""No account enumeration: every form that takes an email answers a known and an unknown address
the same way (status, where it sends you, what the page says), and mail goes only to the
address typed, where only its owner reads it."""

import re
from http import HTTPStatus

import html5lib
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Subscription
from tests.factories import EditorFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

UNKNOWN = "nobody.here@example.com"


def page_text(html: str, email: str) -> str:
    """The visible text of the page's main content, with the typed address blanked out."""
    document = html5lib.parse(html, namespaceHTMLElements=False)
    main = document.find(".//main")
    text = " ".join("".join(main.itertext()).split())
    return text.replace(email, "EMAIL")


def answer(form_url: str, field: str, email: str, mailoutbox) -> dict:
    """Submit the form from a fresh browser and record everything the visitor can observe."""
    client = Client()
    sent_before = len(mailoutbox)
    response = client.post(form_url, {field: email})
    location = response.get("Location", "")
    landing = client.get(location) if location else response
    return {
        "status": response.status_code,
        "location": location,
        "landing_status": landing.status_code,
        "text": page_text(landing.content.decode(), email),
        "recipients": sorted({r for m in mailoutbox[sent_before:] for r in m.to}),
    }


FORMS = [
    ("/subscribe/", "email"),
    (reverse("account_request_login_code"), "email"),
    (reverse("account_login"), "login"),
    (reverse("account_reset_password"), "email"),
    (reverse("account_signup"), "email"),
]


@pytest.fixture(
    params=["subscriber", "unsubscribed", "bounced", "unverified", "editor", "no subscription"]
)
def known(request, db):
    """A known address, in every state an account can be in."""
    if request.param == "editor":
        return EditorFactory().email
    if request.param == "unverified":
        return UserFactory(verified=False).email
    if request.param == "no subscription":
        return UserFactory().email
    status = {
        "subscriber": Subscription.Status.ACTIVE,
        "unsubscribed": Subscription.Status.UNSUBSCRIBED,
        "bounced": Subscription.Status.BOUNCED,
    }[request.param]
    return SubscriptionFactory(status=status).user.email


@pytest.mark.parametrize(("form_url", "field"), FORMS)
def test_known_and_unknown_addresses_get_the_same_answer(form_url, field, known, mailoutbox):
    for_known = answer(form_url, field, known, mailoutbox)
    for_unknown = answer(form_url, field, UNKNOWN, mailoutbox)
    assert for_known["status"] == for_unknown["status"]
    assert for_known["location"] == for_unknown["location"]
    assert for_known["landing_status"] == for_unknown["landing_status"] == HTTPStatus.OK
    assert for_known["text"] == for_unknown["text"]
    # Whatever is sent goes to the address typed, never elsewhere (an editor's address, say).
    assert set(for_known["recipients"]) <= {known}
    assert set(for_unknown["recipients"]) <= {UNKNOWN}


def test_a_code_reaches_a_known_address_and_a_notice_an_unknown_one(mailoutbox):
    """Only the owner of the inbox learns whether it has an account here."""
    known = SubscriptionFactory().user.email
    answer(reverse("account_request_login_code"), "email", known, mailoutbox)
    answer(reverse("account_request_login_code"), "email", UNKNOWN, mailoutbox)
    to_known, to_unknown = mailoutbox
    assert to_known.to == [known] and re.search(r"^[A-Z0-9-]{6,9}$", to_known.body, re.M)
    assert to_unknown.to == [UNKNOWN]


def test_rate_limits_do_not_tell_addresses_apart(mailoutbox):
    known = SubscriptionFactory().user.email
    url = reverse("account_request_login_code")
    for email in (known, UNKNOWN):
        statuses = [Client().post(url, {"email": email}).status_code for _ in range(4)]
        assert statuses == [HTTPStatus.FOUND] * 3 + [HTTPStatus.TOO_MANY_REQUESTS]
