"""The page cache's one invalidation rule (posts/pagecache/__init__.py): PostgreSQL triggers
move the version numbers on, whoever writes. Each test stores a page, writes the way no
service does (the admin, update(), bulk_create(), raw SQL, a bulk delete) and checks the very
next anonymous reader sees the change; and that what every page does not show moves nothing
on every page."""

import re
from http import HTTPStatus
from importlib import import_module

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from comments.models import Comment, CommentLike
from comments.services import like_comment
from polls.models import Vote
from posts import pagecache
from posts.models import Post, ThumbsUp
from tests.factories import CommentFactory, PollFactory, PostFactory, TagFactory, UserFactory
from tests.posts.admin_forms import admin_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(db):
    return PostFactory(slug="watched", title="A post under watch")


def stored(url, django_assert_num_queries) -> str:
    """Visit url anonymously twice; the second visit comes from the cache (one query)."""
    assert Client().get(url).status_code == HTTPStatus.OK
    with django_assert_num_queries(1):
        response = Client().get(url)
    return response.content.decode()


def fresh(url) -> str:
    response = Client().get(url)
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def percent(page: str, choice: str) -> int:
    found = re.search(rf">{choice}</span>\s*<span class=\"poll-percent\">(\d+)%", page)
    assert found, page
    return int(found.group(1))


def number(key: str) -> int:
    return pagecache.numbers().get(key, 0)


def test_an_admin_edit_shows_to_the_next_reader(post, editor_client, django_assert_num_queries):
    stored("/", django_assert_num_queries)
    stored(post.get_absolute_url(), django_assert_num_queries)
    url = f"/admin/posts/post/{post.pk}/change/"
    data = admin_form_data(editor_client, url, title="Edited in the admin")
    response = editor_client.post(url, data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    assert "Edited in the admin" in fresh("/")
    assert "Edited in the admin" in fresh(post.get_absolute_url())


def test_a_queryset_update_shows_to_the_next_reader(post, django_assert_num_queries):
    stored("/", django_assert_num_queries)
    Post.objects.filter(pk=post.pk).update(title="Updated in bulk")
    assert "Updated in bulk" in fresh("/")


def test_bulk_created_comments_show_to_the_next_reader(post, django_assert_num_queries):
    url = post.get_absolute_url()
    assert "0 comments" in stored(url, django_assert_num_queries)
    author = UserFactory()
    Comment.objects.bulk_create(
        [Comment(post=post, author=author, body=f"Imported comment {n}.") for n in range(3)]
    )
    page = fresh(url)
    assert "3 comments" in page and "Imported comment 2." in page


def test_a_raw_sql_insert_shows_to_the_next_reader(post, django_assert_num_queries):
    url = post.get_absolute_url()
    assert "0</span> readers gave" in stored(url, django_assert_num_queries)
    reader = UserFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO posts_thumbsup (post_id, user_id, created_at) VALUES (%s, %s, now())",
            [post.pk, reader.pk],
        )
    assert "1</span> reader gave" in fresh(url)


def test_a_bulk_delete_shows_to_the_next_reader_and_moves_the_post_once(
    post, django_assert_num_queries
):
    poll = PollFactory(post=post, choices=["Yes", "No"], show_results_before_voting=True)
    yes = poll.choices.get(text="Yes")
    readers = User.objects.bulk_create([User(email=f"voter{n}@example.com") for n in range(300)])
    Vote.objects.bulk_create([Vote(poll=poll, choice=yes, user=reader) for reader in readers])
    url = post.get_absolute_url()
    assert percent(stored(url, django_assert_num_queries), "Yes") == 100
    before = number(pagecache.post_key(post.pk))
    with django_assert_num_queries(1):  # one DELETE; its trigger moves the post on once
        Vote.objects.filter(poll=poll).delete()
    after = number(pagecache.post_key(post.pk))
    assert after > before
    assert percent(fresh(url), "Yes") == 0


def test_a_comment_deleted_with_its_likes_shows_to_the_next_reader(post, django_assert_num_queries):
    comment = CommentFactory(post=post, body="Soon gone.")
    for reader in UserFactory.create_batch(3):
        like_comment(comment=comment, user=reader)
    url = post.get_absolute_url()
    assert "Soon gone." in stored(url, django_assert_num_queries)
    Comment.objects.filter(pk=comment.pk).delete()  # its likes go in the same cascade
    assert not CommentLike.objects.filter(comment_id=comment.pk).exists()
    assert "Soon gone." not in fresh(url)


def test_a_login_moves_no_version(post):
    reader = UserFactory(display_name="Reader")
    site = number(pagecache.SITE)
    reader.last_login = timezone.now()
    reader.save(update_fields=["last_login"])
    User.objects.filter(pk=reader.pk).update(last_login=timezone.now())
    reader.save()  # a full save that changes nothing pages show
    assert number(pagecache.SITE) == site
    reader.display_name = "Reader, renamed"
    reader.save(update_fields=["display_name"])
    assert number(pagecache.SITE) > site


def test_a_thumbs_up_moves_its_post_not_the_site(post):
    site, mine = number(pagecache.SITE), number(pagecache.post_key(post.pk))
    ThumbsUp.objects.create(post=post, user=UserFactory())
    assert number(pagecache.SITE) == site
    assert number(pagecache.post_key(post.pk)) > mine


def test_a_change_only_the_posts_own_page_shows_moves_that_post_only(post):
    other = PostFactory()
    site, mine = number(pagecache.SITE), number(pagecache.post_key(post.pk))
    others = number(pagecache.post_key(other.pk))
    Post.objects.filter(pk=post.pk).update(
        daily_takeaway="Only on the post's page.", updated_at=timezone.now()
    )
    assert number(pagecache.SITE) == site
    assert number(pagecache.post_key(post.pk)) > mine
    assert number(pagecache.post_key(other.pk)) == others
    # What cards show (on every page) moves the site.
    Post.objects.filter(pk=post.pk).update(subtitle="Shown on every card")
    assert number(pagecache.SITE) > site


def test_a_vote_moves_its_post_not_the_site(post):
    poll = PollFactory(post=post, choices=["Yes", "No"])
    site, mine = number(pagecache.SITE), number(pagecache.post_key(post.pk))
    Vote.objects.create(poll=poll, choice=poll.choices.first(), user=UserFactory())
    assert number(pagecache.SITE) == site
    assert number(pagecache.post_key(post.pk)) > mine


def test_numbers_only_go_up_even_when_bumped_twice_in_one_instant(post):
    key = pagecache.post_key(post.pk)
    pagecache.bump(key)
    first = number(key)
    pagecache.bump(key, key)
    assert number(key) > first


def test_tagging_a_post_shows_on_every_page(post, django_assert_num_queries):
    stored("/", django_assert_num_queries)
    assert "Freshly tagged" not in stored(post.get_absolute_url(), django_assert_num_queries)
    site = number(pagecache.SITE)
    post.tags.add(TagFactory(name="Freshly tagged"))
    assert number(pagecache.SITE) > site
    assert "Freshly tagged" in fresh(post.get_absolute_url())


def test_emptying_a_table_moves_every_page_on(post, django_assert_num_queries):
    stored("/", django_assert_num_queries)
    site = number(pagecache.SITE)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE posts_thumbsup")
    assert number(pagecache.SITE) > site


def test_the_post_page_only_columns_are_columns_of_posts():
    # A name misspelt in the list would match nothing, and every edit of that column would
    # quietly move "site", the key of every page.
    migration = import_module("posts.migrations.0005_page_versions_moved_by_triggers")
    columns = {field.column for field in Post._meta.concrete_fields}
    assert set(migration.POST_PAGE_ONLY_COLUMNS) <= columns
