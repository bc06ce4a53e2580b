"""Move out and back in: the admin's Ghost export, imported into an emptied database through
the admin's import, gives back the same publication (posts, tags, authors, newsletters,
subscribers with their tags, statuses and newsletters)."""

import json
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Subscription, User
from imports.models import Import
from newsletter.models import Membership, Newsletter, SubscriberTag
from posts.models import Post, Tag
from tests.factories import EditorFactory, PostFactory, SubscriptionFactory, TagFactory

pytestmark = pytest.mark.django_db

GHOST = reverse("admin:export-ghost")


def publication_as_a_reader_and_an_editor_see_it() -> dict:
    """Everything the round trip must keep, keyed by what survives a move (slugs, emails)."""
    posts = {}
    for post in Post.objects.prefetch_related("tags", "authors"):
        posts[post.slug] = {
            "title": post.title,
            "subtitle": post.subtitle,
            "words": post.body_text,
            "status": post.status,
            "published_at": post.published_at.replace(microsecond=0) if post.published_at else None,
            "audience": post.audience,
            "takeaway": post.daily_takeaway,
            "comments": post.comments_mode,
            "tags": sorted((tag.slug, tag.name) for tag in post.tags.all()),
            "authors": sorted(author.display_name for author in post.authors.all()),
        }
    newsletters = {
        n.slug: (n.name, n.description, n.sender_name, n.is_default, n.is_choosable, n.is_archived)
        for n in Newsletter.objects.all()
    }
    subscribers = {}
    for subscription in Subscription.objects.select_related("user"):
        user = subscription.user
        subscribers[user.email] = {
            "name": user.display_name,
            "status": subscription.status,
            "joined": subscription.created_at.replace(microsecond=0),
            "tags": sorted(
                SubscriberTag.objects.filter(readers=user).values_list("name", flat=True)
            ),
            # What each reader gets. (Someone who left everything keeps no newsletters in the
            # file: in Ghost's terms a member who gets nothing has none.)
            "newsletters": sorted(
                Membership.objects.filter(
                    user=user, status=Membership.Status.SUBSCRIBED
                ).values_list("newsletter__slug", flat=True)
            )
            if subscription.status == Subscription.Status.ACTIVE
            else [],
        }
    return {"posts": posts, "newsletters": newsletters, "subscribers": subscribers}


def a_publication():
    morgan = EditorFactory(display_name="Morgan Reyes", email="morgan@news.example")
    sam = EditorFactory(display_name="Sam Okoro", email="sam@news.example")
    cities, work = TagFactory(name="Cities", slug="cities"), TagFactory(name="Work", slug="work")
    weekly = Newsletter.objects.default()
    digest = Newsletter.objects.create(
        name="The Sunday digest",
        slug="sunday-digest",
        description="One letter a week with the best of the comments.",
        sender_name="Sunday at Future Forward",
        is_default=False,
        is_choosable=True,
    )
    open_post = PostFactory(
        title="Trams after dark",
        slug="trams-after-dark",
        subtitle="What night service does to a city",
        body="<p>Night trams changed who can take a late shift.</p><p>Ridership doubled.</p>",
        daily_takeaway="Late service is a labour policy.",
        published_at=timezone.now() - timedelta(days=3),
    )
    open_post.tags.set([cities])
    open_post.authors.set([morgan])
    gated = PostFactory(
        title="The four-day week, a year on",
        slug="four-day-week",
        subtitle="",
        body='<p>The trial firms kept it.</p><hr class="more"><p>Here is what they changed.</p>',
        audience=Post.Audience.SUBSCRIBERS,
        comments_mode=Post.CommentsMode.CLOSED,
        published_at=timezone.now() - timedelta(days=1),
    )
    gated.tags.set([work, cities])
    gated.authors.set([morgan, sam])
    draft = PostFactory(
        title="Bike lanes, unfinished",
        slug="bike-lanes",
        status=Post.Status.DRAFT,
        published_at=None,
    )
    draft.authors.set([sam])
    early = SubscriberTag.objects.create(name="Early reader")
    local = SubscriberTag.objects.create(name="Lives in town")
    readers = {}
    for email, name, status in [
        ("ada@readers.example", "Ada Mensah", Subscription.Status.ACTIVE),
        ("bruno@readers.example", "Bruno Keller", Subscription.Status.ACTIVE),
        ("chen@readers.example", "", Subscription.Status.UNSUBSCRIBED),
        ("dana@readers.example", "Dana Ortiz", Subscription.Status.BOUNCED),
        ("emeka@readers.example", "Emeka Obi", Subscription.Status.COMPLAINED),
        ("farah@readers.example", "Farah Haddad", Subscription.Status.PENDING),
    ]:
        subscription = SubscriptionFactory(
            user__email=email,
            user__display_name=name,
            status=status,
            created_at=timezone.now() - timedelta(days=40),
        )
        readers[email] = subscription.user
    Membership.objects.create(user=readers["ada@readers.example"], newsletter=digest)
    early.readers.add(readers["ada@readers.example"], readers["chen@readers.example"])
    local.readers.add(readers["ada@readers.example"])
    Membership.objects.filter(user=readers["bruno@readers.example"], newsletter=weekly).update(
        status=Membership.Status.UNSUBSCRIBED
    )
    Membership.objects.create(user=readers["bruno@readers.example"], newsletter=digest)
    return weekly


def empty_the_publication(keep: User, default: Newsletter) -> None:
    """What a fresh install holds: the default newsletter and the editor doing the import."""
    Post.objects.all().delete()
    Tag.objects.all().delete()
    SubscriberTag.objects.all().delete()
    User.objects.exclude(pk=keep.pk).delete()
    Newsletter.objects.exclude(pk=default.pk).delete()
    assert not Subscription.objects.exists() and not Post.objects.exists()


def test_export_then_import_into_an_empty_database_gives_the_same_publication(
    client, editor, import_file, run, settings
):
    settings.SITE_URL = "https://news.example"
    default = a_publication()
    before = publication_as_a_reader_and_an_editor_see_it()
    client.force_login(editor)  # the editor who moves the publication, and stays
    response = client.get(GHOST)
    assert response.status_code == HTTPStatus.OK
    exported = b"".join(response.streaming_content)
    assert json.loads(exported)["db"][0]["data"]["posts"]

    empty_the_publication(keep=editor, default=default)
    job = import_file(Import.Kind.GHOST, exported, filename="futureforward.ghost.json")
    assert job.status == Import.Status.CHECKED, job.error
    job = run(job)
    assert job.status == Import.Status.DONE, job.error

    after = publication_as_a_reader_and_an_editor_see_it()
    assert after["posts"] == before["posts"]
    assert after["newsletters"] == before["newsletters"]
    # Someone who never confirmed was never a subscriber: the import says so and leaves them.
    pending = before["subscribers"].pop("farah@readers.example")
    assert pending["status"] == Subscription.Status.PENDING
    assert after["subscribers"] == before["subscribers"]
    assert "never confirmed their address" in json.dumps(job.report)
    # Nobody who left or bounced came back, and the imported authors cannot log in.
    assert not User.objects.filter(display_name="Sam Okoro", is_active=True).exists()

    # And once more: importing the same file again changes nothing.
    again = run(job)
    assert again.status == Import.Status.DONE
    assert publication_as_a_reader_and_an_editor_see_it() == after
    assert not Subscription.objects.filter(user__email="farah@readers.example").exists()
