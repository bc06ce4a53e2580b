"""A page of the discussion costs the same number of queries at 3 comments and at 1,000."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, CommentLike
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _render_every_time(settings):
    """These count what rendering costs: anonymous repeat visits would come from the page
    cache instead (tests/posts/test_page_cache.py)."""
    settings.POSTS_PAGE_CACHE_SECONDS = 0


def build(post, total, authors):
    """bulk_create `total` comments: a quarter top-level, each with a chain of three replies."""
    start = timezone.now() - timedelta(days=2)
    roots = Comment.objects.bulk_create(
        Comment(
            post=post,
            author=authors[i % len(authors)],
            body=f"Top-level comment {i} with a link https://example.com/{i}",
            created_at=start + timedelta(seconds=i),
            like_count=i % 7,
        )
        for i in range(max(1, total // 4))
    )
    made = len(roots)
    parents = roots
    depth = 1
    while made < total:
        batch = []
        for parent in parents:
            if made + len(batch) >= total:
                break
            batch.append(
                Comment(
                    post=post,
                    author=authors[(parent.pk + depth) % len(authors)],
                    body=f"Reply at depth {depth}",
                    parent=parent,
                    root=parent.root or parent,
                    depth=depth,
                    created_at=parent.created_at + timedelta(minutes=1),
                )
            )
        parents = Comment.objects.bulk_create(batch)
        made += len(parents)
        depth += 1
    assert Comment.objects.filter(post=post).count() == total
    return roots


@pytest.fixture
def authors(db):
    return [UserFactory() for _ in range(5)]


def count_queries(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries), response.content.decode()


@pytest.mark.parametrize("viewer", ["anonymous", "reader"])
def test_post_page_costs_the_same_at_3_and_1000_comments(client, authors, trusted, viewer):
    small, large = PostFactory(), PostFactory()
    build(small, 3, authors)
    roots = build(large, 1000, authors)
    if viewer == "reader":
        client.force_login(trusted)
        CommentLike.objects.bulk_create(CommentLike(comment=r, user=trusted) for r in roots[:40])
    client.get(small.get_absolute_url())  # warm up anything cached per process

    small_count, _html = count_queries(client, small.get_absolute_url())
    large_count, html = count_queries(client, large.get_absolute_url())
    assert small_count == large_count
    assert "Show more comments" in html
    assert html.count('class="comment-item"') > 20  # replies are there too, from one query


@pytest.mark.parametrize("total", [3, 1000])
def test_discussion_fragment_has_a_fixed_query_count(
    client, authors, trusted, total, django_assert_num_queries
):
    post = PostFactory()
    build(post, total, authors)
    client.force_login(trusted)
    url = reverse("comments:list", kwargs={"slug": post.slug}) + "?sort=top"
    client.get(url, HTTP_HX_REQUEST="true")
    # the session with its reader (and whether their email is verified), the post, the
    # reader's comment record, the count, the page's top-level comments, all their replies in
    # one query, the reader's likes among them.
    with django_assert_num_queries(7):
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200


def test_every_page_costs_the_same(client, authors, django_assert_num_queries):
    post = PostFactory()
    build(post, 1000, authors)
    for page in (2, 5, 13):
        url = reverse("comments:list", kwargs={"slug": post.slug}) + f"?page={page}"
        # An anonymous reader: the post, the count, the top-level page, all their replies.
        with django_assert_num_queries(4):
            response = client.get(url, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        # 250 top-level comments, 20 a page: page 13 is the last, with 10 (and their replies).
        assert html.count('class="comment-item"') >= (20 if page < 13 else 10)
        assert ("Show more comments" in html) == (page < 13)
