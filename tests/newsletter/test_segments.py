"""Segments: saved filters with a live count (one SQL query), sending to one, exporting it as
CSV and tagging everyone in it; contradictory filters match nobody, bad JSON is refused."""

import csv
import io
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Subscription
from newsletter import audience, services
from newsletter.models import Newsletter, NewsletterSend, Segment, SubscriberTag
from newsletter.segments import segment_count, validate_conditions
from posts.models import ThumbsUp
from tests.factories import (
    CommentFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    VoteFactory,
    make_subscribers,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def weekly():
    return Newsletter.objects.default()


@pytest.fixture
def poll():
    return PollFactory(choices=["Yes", "No"])


@pytest.fixture
def readers(weekly, poll):
    """Five subscribers: two voted Yes, one voted No, one commented, one did nothing."""
    people = make_subscribers(5)
    yes, no = poll.choices.order_by("position")
    VoteFactory(poll=poll, choice=yes, user=people[0])
    VoteFactory(poll=poll, choice=yes, user=people[1])
    VoteFactory(poll=poll, choice=no, user=people[2])
    CommentFactory(author=people[3])
    return people


def emails(conditions) -> set[str]:
    from newsletter.segments import segment_readers

    return set(segment_readers(conditions).values_list("email", flat=True))


def test_answered_poll_with_choice(readers, poll):
    yes = poll.choices.get(text="Yes")
    assert emails([{"kind": "poll_answer", "poll": poll.pk, "choice": yes.pk}]) == {
        readers[0].email,
        readers[1].email,
    }


def test_each_kind_of_condition(readers, poll, weekly):
    tag = SubscriberTag.objects.create(name="VIP")
    tag.readers.add(readers[4])
    Subscription.objects.filter(user=readers[2]).update(
        source="import", created_at=timezone.now() - timedelta(days=400)
    )
    ThumbsUp.objects.create(post=PostFactory(), user=readers[3])
    everyone = {r.email for r in readers}
    assert emails([{"kind": "newsletter", "newsletter": weekly.pk}]) == everyone
    assert emails([{"kind": "status", "status": "active"}]) == everyone
    assert emails([{"kind": "tag", "tag": tag.pk, "has": True}]) == {readers[4].email}
    assert emails([{"kind": "tag", "tag": tag.pk, "has": False}]) == everyone - {readers[4].email}
    assert emails([{"kind": "source", "source": "IMPORT"}]) == {readers[2].email}
    assert emails([{"kind": "signup", "when": "within", "days": 30}]) == everyone - {
        readers[2].email
    }
    year_ago = (timezone.now() - timedelta(days=365)).date().isoformat()
    assert emails([{"kind": "signup", "when": "before", "date": year_ago}]) == {readers[2].email}
    assert emails([{"kind": "signup", "when": "after", "date": year_ago}]) == everyone - {
        readers[2].email
    }
    assert emails([{"kind": "activity", "action": "voted", "days": 7}]) == {
        r.email for r in readers[:3]
    }
    assert emails([{"kind": "activity", "action": "commented", "days": 7}]) == {readers[3].email}
    assert emails([{"kind": "activity", "action": "thumbs_up", "days": 7}]) == {readers[3].email}


def test_conditions_are_combined_with_and(readers, poll):
    conditions = [
        {"kind": "activity", "action": "voted", "days": 30},
        {"kind": "poll_answer", "poll": poll.pk, "choice": poll.choices.get(text="No").pk},
    ]
    assert emails(conditions) == {readers[2].email}


def test_contradictory_conditions_give_zero_not_an_error(readers, poll):
    other = PollFactory()
    contradictions = [
        [
            {"kind": "status", "status": "active"},
            {"kind": "status", "status": "unsubscribed"},
        ],
        [{"kind": "poll_answer", "poll": other.pk, "choice": poll.choices.first().pk}],
        [
            {"kind": "signup", "when": "after", "date": "2030-01-01"},
            {"kind": "signup", "when": "before", "date": "2020-01-01"},
        ],
        [{"kind": "newsletter", "newsletter": 999999}],
    ]
    for conditions in contradictions:
        assert segment_count(conditions) == 0


def test_every_count_is_one_query(readers, poll, weekly):
    tag = SubscriberTag.objects.create(name="VIP")
    conditions = [
        {"kind": "newsletter", "newsletter": weekly.pk},
        {"kind": "status", "status": "active"},
        {"kind": "tag", "tag": tag.pk, "has": False},
        {"kind": "signup", "when": "within", "days": 30},
        {"kind": "source", "source": "test"},
        {"kind": "activity", "action": "voted", "days": 30},
        {"kind": "activity", "action": "commented", "days": 30},
        {"kind": "activity", "action": "thumbs_up", "days": 30},
        {"kind": "poll_answer", "poll": poll.pk, "choice": poll.choices.first().pk},
    ]
    with CaptureQueriesContext(connection) as queries:
        segment_count(conditions)
    assert len(queries) == 1
    segment = Segment.objects.create(name="Voters", conditions=conditions[:3])
    with CaptureQueriesContext(connection) as queries:
        audience.recipient_count(newsletter=weekly, segment=segment)
    assert len(queries) == 1


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"kind": "status"}', "must be a list"),
        (
            "[" + '{"kind": "source", "source": "x"},' * 25 + '{"kind": "source", "source": "x"}]',
            "at most 20",
        ),
        ("x" * 6000, "too long"),
        ([{"kind": "sql", "where": "1=1"}], "kind must be one of"),
        ([{"kind": "status", "status": "active", "extra": 1}], "unknown extra"),
        ([{"kind": "status", "status": "mystery"}], "status must be one of"),
        ([{"kind": "activity", "action": "voted", "days": -3}], "days must be"),
        ([{"kind": "activity", "action": "voted", "days": True}], "days must be"),
        ([{"kind": "signup", "when": "after", "date": "31/12/2020"}], "YYYY-MM-DD"),
        ([{"kind": "poll_answer", "poll": 1}], "choice missing"),
        ([{"kind": "poll_answer", "poll": "1 OR 1=1", "choice": 2}], "poll must be"),
        (["status"], "kind must be one of"),
    ],
)
def test_malformed_conditions_are_refused_with_a_clear_message(bad, message):
    with pytest.raises(ValidationError, match=message):
        validate_conditions(bad)


def test_empty_conditions_match_every_subscriber(readers):
    assert validate_conditions("") == []
    assert segment_count([]) == 5


def test_send_to_a_segment_reaches_exactly_its_readers(
    readers, poll, weekly, mailoutbox, django_capture_on_commit_callbacks
):
    yes = poll.choices.get(text="Yes")
    segment = Segment.objects.create(
        name="Said yes", conditions=[{"kind": "poll_answer", "poll": poll.pk, "choice": yes.pk}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        send = services.create_send(
            post=PostFactory(),
            created_by=None,
            mode=NewsletterSend.Mode.FULL,
            teaser_words=150,
            newsletter=weekly,
            segment=segment,
        )
    assert send.recipients_count == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted([readers[0].email, readers[1].email])


def segment_form(**fields):
    data = {
        "name": "Yes voters",
        "description": "",
        "newsletter": "",
        "status": "",
        "signed_up_after": "",
        "signed_up_before": "",
        "signed_up_within": "",
        "source": "",
        "activity": "",
        "activity_days": "",
        "poll_answer": "",
        "more_conditions": "",
    }
    data.update(fields)
    return data


def test_admin_builds_a_segment_with_a_live_count(editor_client, readers, poll, weekly):
    yes = poll.choices.get(text="Yes")
    count_url = reverse("admin:newsletter_segment_count")
    fragment = editor_client.post(
        count_url, segment_form(poll_answer=yes.pk), headers={"HX-Request": "true"}
    )
    assert fragment.status_code == HTTPStatus.OK
    assert '<strong class="segment-count">2</strong>' in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    # Without JavaScript: the Preview button posts the form to the same address.
    page = editor_client.post(count_url, segment_form(poll_answer=yes.pk, _preview="1"))
    assert "Segment preview" in page.content.decode()
    assert '<strong class="segment-count">2</strong>' in page.content.decode()
    assert not Segment.objects.exists()

    add = editor_client.get(reverse("admin:newsletter_segment_add")).content.decode()
    assert "Preview the count" in add and 'data-hx-post="' in add
    response = editor_client.post(
        reverse("admin:newsletter_segment_add"),
        segment_form(poll_answer=yes.pk, newsletter=weekly.pk),
    )
    assert response.status_code == HTTPStatus.FOUND
    segment = Segment.objects.get()
    assert segment.conditions == [
        {"kind": "newsletter", "newsletter": weekly.pk},
        {"kind": "poll_answer", "poll": poll.pk, "choice": yes.pk},
    ]
    change = editor_client.get(reverse("admin:newsletter_segment_change", args=[segment.pk]))
    text = change.content.decode()
    assert '<strong class="segment-count">2</strong>' in text
    assert f'<option value="{yes.pk}" selected>' in text


def test_admin_refuses_bad_json_and_keeps_what_was_typed(editor_client, readers):
    response = editor_client.post(
        reverse("admin:newsletter_segment_add"),
        segment_form(more_conditions='[{"kind": "status"'),
    )
    assert response.status_code == HTTPStatus.OK
    text = response.content.decode()
    assert "not valid JSON" in text
    assert "[{&quot;kind&quot;: &quot;status&quot;" in text
    assert not Segment.objects.exists()
    fragment = editor_client.post(
        reverse("admin:newsletter_segment_count"),
        segment_form(more_conditions="[1, 2]"),
        headers={"HX-Request": "true"},
    )
    assert "kind must be one of" in fragment.content.decode()


def test_readers_cannot_reach_the_segment_admin(auth_client, client):
    url = reverse("admin:newsletter_segment_count")
    for someone in (auth_client, client):
        response = someone.post(url, segment_form())
        assert response.status_code == HTTPStatus.FOUND
        assert "/login" in response.url or "/admin/login" in response.url


def test_export_streams_the_segment_as_csv(editor_client, readers, poll):
    yes = poll.choices.get(text="Yes")
    segment = Segment.objects.create(
        name="Yes", conditions=[{"kind": "poll_answer", "poll": poll.pk, "choice": yes.pk}]
    )
    SubscriberTag.objects.create(name="=cmd").readers.add(readers[0])
    response = editor_client.get(reverse("admin:newsletter_segment_export", args=[segment.pk]))
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "email"
    assert sorted(row[0] for row in rows[1:]) == sorted([readers[0].email, readers[1].email])
    assert "'=cmd" in {row[5] for row in rows[1:]}


def test_tag_everyone_in_a_segment(editor_client, readers, poll):
    segment = Segment.objects.create(
        name="Voters", conditions=[{"kind": "activity", "action": "voted", "days": 30}]
    )
    url = reverse("admin:newsletter_segment_tag", args=[segment.pk])
    assert "3 subscribers are in Voters" in editor_client.get(url).content.decode()
    response = editor_client.post(url, {"new_tag": "Poll voters"})
    assert response.status_code == HTTPStatus.FOUND
    tag = SubscriberTag.objects.get(name="Poll voters")
    assert set(tag.readers.all()) == set(readers[:3])
    # Again: nobody gets it twice.
    editor_client.post(url, {"tag": tag.pk})
    assert tag.readers.count() == 3
    refused = editor_client.post(url, {})
    assert "Choose a tag or name a new one." in refused.content.decode()


def test_segment_list_shows_counts(editor_client, readers):
    Segment.objects.create(name="All", conditions=[])
    page = editor_client.get(reverse("admin:newsletter_segment_changelist")).content.decode()
    assert "Export CSV" in page and "Tag everyone" in page


def test_a_subscription_not_active_is_outside_every_send(readers, weekly):
    segment = Segment.objects.create(name="Everyone", conditions=[])
    Subscription.objects.filter(user=readers[0]).update(status="bounced")
    assert audience.recipient_count(newsletter=weekly, segment=segment) == 4
    assert SubscriptionFactory is not None


def test_seed_demo_brings_a_second_newsletter_and_a_poll_segment():
    from django.core.management import call_command

    call_command("seed_demo")
    call_command("seed_demo")
    assert Newsletter.objects.filter(slug="climate-digest").count() == 1
    segment = Segment.objects.get(name__startswith="Voted")
    assert segment_count(segment.conditions) > 0
    # The first demo reader brought two friends: the referral segment has them.
    referrers = Segment.objects.get(name="Brought two friends or more")
    assert segment_count(referrers.conditions) == 1
