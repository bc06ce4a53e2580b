"""Speed: reader pages run the same number of SQL queries however much content there is."""

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from posts.models import Post
from tests.factories import EditorFactory, PostFactory, TagFactory, ThumbsUpFactory
from tests.posts.pictures import jpeg_bytes

pytestmark = pytest.mark.django_db

# What the post page itself needs: the post with counts, authors, tags, related posts.
POST_PAGE_QUERIES = 4


def build(*, tags: int, authors: int, others: int, thumbs: int, covers: bool = False) -> Post:
    """A post with the given number of tags, authors and thumbs up, among `others` posts."""
    tag_objects = [TagFactory() for _ in range(tags)]
    author_objects = [EditorFactory() for _ in range(authors)]
    cover = {"cover": ContentFile(jpeg_bytes((600, 400)), name="c.jpg"), "cover_alt": "c"}
    post = PostFactory(**(cover if covers else {}))
    post.tags.set(tag_objects)
    post.authors.set(author_objects)
    for _ in range(others):
        other = PostFactory(is_featured=True)
        other.tags.set(tag_objects)
        other.authors.set(author_objects)
    ThumbsUpFactory.create_batch(thumbs, post=post)
    return post


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.fixture
def sizes():
    small = build(tags=1, authors=1, others=1, thumbs=0)
    large = build(tags=8, authors=5, others=25, thumbs=12, covers=True)
    return small, large


def test_post_page_queries_do_not_grow_with_content(client, sizes, django_assert_max_num_queries):
    small, large = sizes
    assert count_queries(client, small.get_absolute_url()) == count_queries(
        client, large.get_absolute_url()
    )
    # Polls and comments add their own fixed queries to this page; ours stay at four.
    with django_assert_max_num_queries(POST_PAGE_QUERIES + 6):
        client.get(large.get_absolute_url())


def test_post_page_for_a_logged_in_subscriber_is_fixed_too(auth_client, sizes):
    small, large = sizes
    small.audience = large.audience = Post.Audience.SUBSCRIBERS
    small.save()
    large.save()
    assert count_queries(auth_client, small.get_absolute_url()) == count_queries(
        auth_client, large.get_absolute_url()
    )


@pytest.mark.parametrize(
    "path", ["/", "/archive/", "/search/?q=post", "/feed/", "/feed/atom/", "/sitemap.xml"]
)
def test_list_pages_do_not_grow_with_content(client, path):
    build(tags=1, authors=1, others=1, thumbs=0)
    few = count_queries(client, path)
    build(tags=6, authors=4, others=20, thumbs=5, covers=True)
    assert count_queries(client, path) == few


def test_tag_and_author_pages_do_not_grow_with_content(client):
    small = build(tags=1, authors=1, others=1, thumbs=0)
    large = build(tags=6, authors=4, others=20, thumbs=5)
    for pick in (
        lambda p: p.tags.first().get_absolute_url(),
        lambda p: f"/author/{p.authors.first().pk}/",
    ):
        assert count_queries(client, pick(small)) == count_queries(client, pick(large))
