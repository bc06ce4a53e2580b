"""The publication's face: masthead, text face, button hierarchy, favicon and manifest."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from playwright.sync_api import expect

from tests.factories import PostFactory, SubscriptionFactory


@pytest.mark.django_db
def test_home_has_a_masthead_with_name_tagline_and_subscribe_box_for_anonymous_readers(client):
    PostFactory()
    html = client.get("/").content.decode()
    masthead = re.search(r'<header class="masthead">(.*?)</header>', html, re.S).group(1)
    assert '<h1 class="masthead-name">Future Forward</h1>' in masthead
    assert 'class="masthead-tagline"' in masthead
    assert 'name="source" value="masthead"' in masthead

    reader = Client()
    reader.force_login(SubscriptionFactory().user)
    html = reader.get("/").content.decode()
    assert 'class="masthead-name"' in html and 'value="masthead"' not in html


@pytest.mark.django_db
def test_every_page_links_favicon_manifest_and_preloads_the_text_face(client):
    html = client.get("/").content.decode()
    manifest_url = re.search(r'<link rel="manifest" href="(/site\.webmanifest\?v=\d+)">', html)
    assert manifest_url
    assert re.search(r'<link rel="preload" href="[^"]+\.woff2" as="font" type="font/woff2"', html)
    assert 'rel="icon"' in html and 'rel="apple-touch-icon"' in html
    # The manifest carries the publication's settings (publication/views.py).
    data = json.loads(client.get(manifest_url.group(1)).content)
    assert data["name"] == "Future Forward" and data["start_url"] == "/"
    for icon in data["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon["src"]
    assert finders.find("fonts/SourceSerif4-OFL.txt")


@pytest.mark.django_db
def test_the_admin_has_the_favicon_too(editor_client):
    assert "img/favicon.svg" in editor_client.get("/admin/").content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.browser
@pytest.mark.parametrize("width,height", [(375, 667), (1280, 800)])
def test_masthead_subscribe_box_is_above_the_fold_in_the_text_face(open_page, width, height):
    PostFactory()
    page = open_page(viewport={"width": width, "height": height})
    page.goto("/")
    box = page.locator(".masthead .subscribe-form button")
    expect(box).to_be_in_viewport()
    assert box.bounding_box()["y"] + box.bounding_box()["height"] <= height
    page.evaluate("document.fonts.ready")
    assert page.evaluate("document.fonts.check('700 1em \"Source Serif 4\"')")
    family = page.locator(".masthead-name").evaluate("el => getComputedStyle(el).fontFamily")
    assert family.startswith('"Source Serif 4"')
    loaded = page.evaluate(
        "[...document.fonts].filter("
        "f => f.family.includes('Source Serif 4') && f.status === 'loaded').length"
    )
    assert loaded >= 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.browser
def test_account_buttons_follow_the_hierarchy(open_page):
    page = open_page(SubscriptionFactory().user)
    page.goto("/account/")

    def background(name):
        return (
            page.locator("main")
            .get_by_role("button", name=name)
            .evaluate("el => getComputedStyle(el).backgroundColor")
        )

    primary, secondary, danger = (
        background("Save name"),
        background("Log out"),
        background("Delete my account"),
    )
    assert secondary == "rgba(0, 0, 0, 0)"  # an outline, not a second solid button
    assert primary != secondary and danger not in (primary, secondary)
