"""Subscribers as people in the admin: tags, a note, the newsletters and a short history on
the subscriber's page (bounded, no N+1), and bulk tag and untag from the list."""

from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from newsletter import audience
from newsletter.models import Newsletter, SubscriberNote, SubscriberTag
from tests.factories import CommentFactory, PollFactory, SubscriptionFactory, VoteFactory

pytestmark = pytest.mark.django_db


def change_url(subscription):
    return reverse("admin:accounts_subscription_change", args=[subscription.pk])


def test_the_subscriber_page_shows_newsletters_votes_and_comments(editor_client):
    subscription = SubscriptionFactory(source="post:cities-after-cars")
    reader = subscription.user
    digest = Newsletter.objects.create(name="Climate digest", slug="climate", is_default=False)
    audience.join(user=reader, newsletters=[digest])
    audience.leave(user=reader, newsletter=digest)
    poll = PollFactory(question="Trams or buses?", choices=["Trams", "Buses"])
    VoteFactory(poll=poll, user=reader, choice=poll.choices.get(text="Trams"))
    CommentFactory(author=reader, body="Trams, every time.")
    page = editor_client.get(change_url(subscription)).content.decode()
    assert "Climate digest: Unsubscribed" in page
    assert "Trams or buses? → Trams" in page
    assert "Trams, every time." in page
    assert "post:cities-after-cars" in page


def test_the_history_costs_the_same_queries_however_long_it_is(editor_client):
    def queries_for(subscription):
        with CaptureQueriesContext(connection) as captured:
            editor_client.get(change_url(subscription))
        return [q["sql"][:150] for q in captured]

    quiet = SubscriptionFactory()
    busy = SubscriptionFactory()
    for _ in range(15):
        poll = PollFactory()
        VoteFactory(poll=poll, user=busy.user)
        CommentFactory(author=busy.user)
    queries_for(quiet)  # the first page view of the session stores things once
    busy_queries, quiet_queries = queries_for(busy), queries_for(quiet)
    assert len(busy_queries) == len(quiet_queries), set(busy_queries) ^ set(quiet_queries)


def test_editors_set_tags_and_a_note(editor_client):
    subscription = SubscriptionFactory()
    vip = SubscriberTag.objects.create(name="VIP")
    data = {
        "user": subscription.user.pk,
        "status": "active",
        "source": "test",
        "created_at_0": "2026-01-01",
        "created_at_1": "10:00:00",
        "confirmed_at_0": "",
        "confirmed_at_1": "",
        "unsubscribed_at_0": "",
        "unsubscribed_at_1": "",
        "tags": [vip.pk],
        "note": "Met at the town hall debate.",
    }
    response = editor_client.post(change_url(subscription), data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    assert list(subscription.user.subscriber_tags.all()) == [vip]
    assert SubscriberNote.objects.get(user=subscription.user).text == "Met at the town hall debate."
    page = editor_client.get(change_url(subscription)).content.decode()
    assert "Met at the town hall debate." in page


def test_bulk_tag_and_untag_from_the_list(editor_client):
    subscriptions = [SubscriptionFactory() for _ in range(3)]
    changelist = reverse("admin:accounts_subscription_changelist")
    ids = [s.pk for s in subscriptions[:2]]
    page = editor_client.post(changelist, {"action": "tag_selected", "_selected_action": ids})
    assert "Give a tag to 2 subscribers" in page.content.decode()
    refused = editor_client.post(
        changelist, {"action": "tag_selected", "_selected_action": ids, "apply": "1"}
    )
    assert "Choose a tag or name a new one." in refused.content.decode()
    editor_client.post(
        changelist,
        {"action": "tag_selected", "_selected_action": ids, "apply": "1", "new_tag": "Donors"},
    )
    donors = SubscriberTag.objects.get(name="Donors")
    assert set(donors.readers.all()) == {s.user for s in subscriptions[:2]}
    listing = editor_client.get(changelist, {"user__subscriber_tags__id__exact": donors.pk})
    assert listing.content.decode().count("Donors") >= 2
    editor_client.post(
        changelist,
        {
            "action": "untag_selected",
            "_selected_action": [subscriptions[0].pk],
            "apply": "1",
            "tag": donors.pk,
        },
    )
    assert set(donors.readers.all()) == {subscriptions[1].user}
