"""The foundation's smoke test: subscribe and log in, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import code_from_mail

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_reader_subscribes_and_is_logged_in(page, mailoutbox):
    page.goto("/")
    page.get_by_role("link", name="Subscribe", exact=True).click()
    page.get_by_label("Email address").fill("browser.reader@example.com")
    page.get_by_role("button", name="Send my code").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/code/confirm/"))

    page.get_by_label("Code").fill(code_from_mail(mailoutbox[-1]))
    page.get_by_role("button", name="Log in", exact=True).click()

    expect(page.get_by_role("button", name="Log out").first).to_be_visible()
    expect(page.locator(".nav-user")).to_have_text("browser.reader")
