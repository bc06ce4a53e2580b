"""Old addresses of imported posts: a 301 only where the site itself answers nothing."""

from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from imports.models import OldAddress
from posts.models import Page
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def test_an_old_substack_address_redirects_permanently(client):
    post = PostFactory(slug="rivers-2")
    OldAddress.objects.create(path="/p/rivers", post=post)

    for path in ("/p/rivers", "/p/rivers/"):
        response = client.get(path)
        assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
        assert response["Location"] == "/p/rivers-2/"


def test_a_page_of_ours_at_the_same_path_wins(client):
    Page.objects.update_or_create(slug="about", defaults={"title": "About us", "body": "<p>Hi</p>"})
    OldAddress.objects.create(path="/about/", post=PostFactory(slug="old-about"))

    response = client.get("/about/")

    assert response.status_code == HTTPStatus.OK
    assert b"About us" in response.content


def test_pages_that_answer_never_look_up_old_addresses_and_stay_cached(
    django_assert_num_queries,
):
    post = PostFactory(slug="kept")
    OldAddress.objects.create(path="/p/kept-old", post=post)
    with CaptureQueriesContext(connection) as queries:
        assert Client().get("/p/kept/").status_code == HTTPStatus.OK
    assert not [q for q in queries.captured_queries if "imports_oldaddress" in q["sql"]]
    # The page cache still serves the next visit from memory (only the version lookup).
    with django_assert_num_queries(1):
        assert Client().get("/p/kept/").status_code == HTTPStatus.OK


def test_a_post_request_to_an_old_address_is_not_redirected(client):
    OldAddress.objects.create(path="/p/moved", post=PostFactory(slug="moved-2"))

    assert client.post("/p/moved/").status_code != HTTPStatus.MOVED_PERMANENTLY
