"""Post rules: who sees a post when, who may read all of it, and the publishing services."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from posts.models import Post
from posts.services import publish_post, unpublish_post
from tests.factories import EditorFactory, PostFactory, SubscriptionFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


def in_hours(n):
    return timezone.now() + timedelta(hours=n)


def test_saving_keeps_status_in_step_with_the_publish_time():
    post = PostFactory(status=Post.Status.PUBLISHED, published_at=in_hours(3))
    assert post.status == Post.Status.SCHEDULED and post.is_scheduled()
    post.published_at = in_hours(-1)
    post.save()
    assert post.status == Post.Status.PUBLISHED and post.is_published()
    now_post = PostFactory(status=Post.Status.PUBLISHED, published_at=None)
    assert now_post.published_at is not None and now_post.is_published()


def test_a_draft_is_never_published_whatever_its_time():
    draft = PostFactory(status=Post.Status.DRAFT, published_at=in_hours(-5))
    assert not draft.is_published() and not draft.is_scheduled()
    assert not Post.objects.published().exists()


def test_visible_to_lets_staff_see_everything_and_readers_only_live_posts(reader):
    live = PostFactory()
    PostFactory(status=Post.Status.DRAFT, published_at=None)
    PostFactory(status=Post.Status.SCHEDULED, published_at=in_hours(1))
    assert list(Post.objects.visible_to(reader)) == [live]
    assert list(Post.objects.visible_to(AnonymousUser())) == [live]
    assert Post.objects.visible_to(EditorFactory()).count() == 3


def test_who_may_read_a_subscribers_only_post():
    post = PostFactory(audience=Post.Audience.SUBSCRIBERS)
    lapsed = SubscriptionFactory(status="unsubscribed").user
    assert not post.is_readable_by(AnonymousUser())
    assert not post.is_readable_by(UserFactory())
    assert not post.is_readable_by(lapsed)
    assert post.is_readable_by(SubscriptionFactory().user)
    assert post.is_readable_by(EditorFactory())
    assert PostFactory().is_readable_by(AnonymousUser())


def test_related_posts_prefer_shared_tags_then_recency():
    a, b, c = TagFactory(), TagFactory(), TagFactory()
    post = PostFactory()
    post.tags.set([a, b])
    two_shared = PostFactory(published_at=in_hours(-30))
    two_shared.tags.set([a, b])
    one_shared = PostFactory(published_at=in_hours(-2))
    one_shared.tags.set([a])
    unrelated_newest = PostFactory(published_at=in_hours(-1))
    unrelated_newest.tags.set([c])
    draft = PostFactory(status=Post.Status.DRAFT, published_at=None)
    draft.tags.set([a, b])
    assert list(Post.objects.related_to(post)) == [two_shared, one_shared, unrelated_newest]


def test_related_posts_without_tags_are_simply_the_latest():
    post = PostFactory()
    older = PostFactory(published_at=in_hours(-10))
    newer = PostFactory(published_at=in_hours(-2))
    assert list(Post.objects.related_to(post, limit=2)) == [newer, older]


def test_description_falls_back_to_the_start_of_the_body():
    assert PostFactory(subtitle="Sub").description == "Sub"
    long = PostFactory(subtitle="", body="<p>" + "word " * 100 + "</p>")
    assert long.description.endswith("…") and len(long.description) <= 201


def test_publish_post_publishes_now_or_at_a_chosen_time():
    draft = PostFactory(status=Post.Status.DRAFT, published_at=None)
    publish_post(post=draft)
    assert draft.is_published()

    later = PostFactory(status=Post.Status.DRAFT, published_at=None)
    publish_post(post=later, at=in_hours(4))
    later.refresh_from_db()
    assert later.status == Post.Status.SCHEDULED and later.is_scheduled()


def test_publishing_again_keeps_the_original_date():
    post = PostFactory(published_at=in_hours(-48))
    original = post.published_at
    unpublish_post(post=post)
    assert not Post.objects.published().exists()
    publish_post(post=post)
    post.refresh_from_db()
    assert post.published_at == original and post.is_published()


def test_every_model_reads_well_in_the_admin():
    post = PostFactory(title="Readable")
    tag = TagFactory(name="Energy")
    assert str(post) == "Readable" and str(tag) == "Energy"
    from tests.factories import ThumbsUpFactory

    assert "Readable" in str(ThumbsUpFactory(post=post))
