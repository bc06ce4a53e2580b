"""The main menu: the logo goes home, "Posts" goes to the archive of every post."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_posts_in_the_menu_opens_the_archive(client):
    html = client.get("/").content.decode()
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    assert re.search(r'<a href="/archive/">Posts</a>', nav)
