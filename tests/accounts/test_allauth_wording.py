"""allauth's pages and emails speak the publication's language, not the library's stock text."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

STOCK = ("Enter Sign-In Code", "Code:", "Request Code", "please sign up", "Sign In", "[Future")


def text(response) -> str:
    return response.content.decode()


def test_code_request_confirm_and_password_pages_use_our_wording(client, subscriber, mailoutbox):
    request_page = text(client.get("/accounts/login/code/"))
    assert "Log in with a code" in request_page
    assert "Email me a code" in request_page

    response = client.post("/accounts/login/code/", {"email": subscriber.email}, follow=True)
    confirm_page = text(response)
    assert "Check your email" in confirm_page
    assert ">Your code</label>" in confirm_page

    password_page = text(Client().get("/accounts/login/"))  # no login under way
    assert "Log in with a password" in password_page
    for page in (request_page, confirm_page, password_page):
        for phrase in STOCK:
            assert phrase not in page, phrase


def test_code_email_subject_names_the_site_once(client, subscriber, mailoutbox):
    client.post("/accounts/login/code/", {"email": subscriber.email})
    (message,) = mailoutbox
    assert message.subject.startswith("Your Future Forward code: ")
    assert message.subject.count("Future Forward") == 1


def test_unknown_address_gets_a_plain_subject_and_a_way_to_subscribe(client, mailoutbox):
    client.post("/accounts/login/code/", {"email": "nobody@example.com"})
    (message,) = mailoutbox
    assert message.subject == "No Future Forward account for this address"
    assert "/subscribe/" in message.body
    assert "sign up for an account" not in message.body
