"""The segments' "referrals made" condition: readers with at least N counted referrals (held
and revoked ones do not count), optionally counted in the last N days; one SQL query per count,
editable in the segment form, described in words, and usable to send, export and tag."""

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

from accounts.models import Referral, Subscription
from accounts.referrals import revoke_referral
from newsletter import audience, services
from newsletter.models import Newsletter, NewsletterSend, Segment, SubscriberTag
from newsletter.segments import (
    describe_conditions,
    segment_count,
    segment_readers,
    validate_conditions,
)
from tests.factories import PostFactory, UserFactory, make_subscribers

pytestmark = pytest.mark.django_db

TWO_OR_MORE = [{"kind": "referrals", "count": 2}]


def refer(referrer, *, counted=0, revoked=0, held=0, days_ago=0):
    """Give referrer referrals of each kind, counted `days_ago` days ago."""
    when = timezone.now() - timedelta(days=days_ago)
    for _ in range(counted):
        Referral.objects.create(referrer=referrer, referred=UserFactory(), counted_at=when)
    for _ in range(revoked):
        Referral.objects.create(
            referrer=referrer, referred=UserFactory(), counted_at=when, revoked_at=when
        )
    for _ in range(held):
        Referral.objects.create(referrer=referrer, referred=UserFactory(), held=True)


@pytest.fixture
def referrers():
    """Five subscribers: two counted + one revoked; one counted + one revoked; one counted +
    three held; three counted long ago; none at all."""
    people = make_subscribers(5, prefix="ref")
    refer(people[0], counted=2, revoked=1)
    refer(people[1], counted=1, revoked=1)
    refer(people[2], counted=1, held=3)
    refer(people[3], counted=3, days_ago=90)
    return people


def emails(conditions) -> set[str]:
    return set(segment_readers(conditions).values_list("email", flat=True))


def test_made_at_least_two_counts_only_counted_referrals(referrers):
    assert emails(TWO_OR_MORE) == {referrers[0].email, referrers[3].email}
    assert segment_count(TWO_OR_MORE) == 2
    # At least one: everyone with a counted referral, never the reader with none.
    assert emails([{"kind": "referrals", "count": 1}]) == {p.email for p in referrers[:4]}
    # Three: only the reader whose three are all counted.
    assert emails([{"kind": "referrals", "count": 3}]) == {referrers[3].email}


def test_revoking_a_referral_takes_the_reader_out(referrers):
    referral = Referral.objects.filter(referrer=referrers[0], revoked_at__isnull=True).first()
    assert revoke_referral(referral=referral)
    assert emails(TWO_OR_MORE) == {referrers[3].email}


def test_within_the_last_days_leaves_out_older_referrals(referrers):
    recent = [{"kind": "referrals", "count": 2, "days": 30}]
    assert emails(recent) == {referrers[0].email}
    assert emails([{"kind": "referrals", "count": 2, "days": 100}]) == {
        referrers[0].email,
        referrers[3].email,
    }


def test_combined_with_another_condition(referrers):
    tag = SubscriberTag.objects.create(name="Ambassadors")
    tag.readers.add(referrers[3], referrers[4])
    assert emails([*TWO_OR_MORE, {"kind": "tag", "tag": tag.pk}]) == {referrers[3].email}
    assert emails([*TWO_OR_MORE, {"kind": "tag", "tag": tag.pk, "has": False}]) == {
        referrers[0].email
    }
    Subscription.objects.filter(user=referrers[0]).update(status="unsubscribed")
    assert emails([*TWO_OR_MORE, {"kind": "status", "status": "active"}]) == {referrers[3].email}


def test_the_count_is_one_query(referrers):
    weekly = Newsletter.objects.default()
    conditions = [
        {"kind": "newsletter", "newsletter": weekly.pk},
        {"kind": "status", "status": "active"},
        {"kind": "referrals", "count": 2, "days": 365},
    ]
    with CaptureQueriesContext(connection) as queries:
        assert segment_count(conditions) == 2
    assert len(queries) == 1
    segment = Segment.objects.create(name="Ambassadors", conditions=conditions)
    with CaptureQueriesContext(connection) as queries:
        assert audience.recipient_count(newsletter=weekly, segment=segment) == 2
    assert len(queries) == 1


@pytest.mark.parametrize(
    "bad",
    [
        [{"kind": "referrals", "count": 0}],
        [{"kind": "referrals", "count": -2}],
        [{"kind": "referrals", "count": "2"}],
        [{"kind": "referrals", "count": 2.5}],
        [{"kind": "referrals", "count": True}],
        [{"kind": "referrals", "count": 10**9}],
    ],
)
def test_the_number_must_be_a_positive_whole_number(bad):
    with pytest.raises(ValidationError, match="count must be a whole number of referrals"):
        validate_conditions(bad)


def test_missing_count_and_bad_days_are_refused():
    with pytest.raises(ValidationError, match="count missing"):
        validate_conditions([{"kind": "referrals", "days": 30}])
    with pytest.raises(ValidationError, match="days must be"):
        validate_conditions([{"kind": "referrals", "count": 2, "days": 0}])
    with pytest.raises(ValidationError, match="unknown since"):
        validate_conditions([{"kind": "referrals", "count": 2, "since": "2020-01-01"}])


def test_described_in_words():
    assert describe_conditions(TWO_OR_MORE) == "made at least 2 referrals"
    assert describe_conditions([{"kind": "referrals", "count": 1}]) == "made at least 1 referral"
    assert (
        describe_conditions(
            [{"kind": "status", "status": "active"}, {"kind": "referrals", "count": 5, "days": 30}]
        )
        == "subscription Active and made at least 5 referrals counted in the last 30 days"
    )


def segment_form(**fields):
    data = {
        "name": "Ambassadors",
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
        "referrals_made": "",
        "referrals_days": "",
        "more_conditions": "",
    }
    data.update(fields)
    return data


def test_admin_form_builds_shows_and_describes_the_condition(editor_client, referrers):
    count_url = reverse("admin:newsletter_segment_count")
    fragment = editor_client.post(
        count_url, segment_form(referrals_made="2"), headers={"HX-Request": "true"}
    )
    assert '<strong class="segment-count">2</strong>' in fragment.content.decode()
    page = editor_client.post(count_url, segment_form(referrals_made="2", referrals_days="30"))
    text = page.content.decode()
    assert '<strong class="segment-count">1</strong>' in text
    assert "made at least 2 referrals counted in the last 30 days" in text

    add = editor_client.get(reverse("admin:newsletter_segment_add")).content.decode()
    assert "Made at least (referrals)" in add
    response = editor_client.post(
        reverse("admin:newsletter_segment_add"), segment_form(referrals_made="2")
    )
    assert response.status_code == HTTPStatus.FOUND
    segment = Segment.objects.get()
    assert segment.conditions == TWO_OR_MORE
    change = editor_client.get(reverse("admin:newsletter_segment_change", args=[segment.pk]))
    text = change.content.decode()
    assert 'name="referrals_made" value="2"' in text
    assert '<strong class="segment-count">2</strong>' in text
    listing = editor_client.get(reverse("admin:newsletter_segment_changelist")).content.decode()
    assert "made at least 2 referrals" in listing


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"referrals_made": "0"}, "Write the number of referrals as a whole number, 1 or more."),
        ({"referrals_made": "-3"}, "Write the number of referrals as a whole number, 1 or more."),
        ({"referrals_made": "two"}, "Write the number of referrals as a whole number, 1 or more."),
        ({"referrals_made": "2.5"}, "Write the number of referrals as a whole number, 1 or more."),
        ({"referrals_days": "30"}, "Say how many referrals, or leave the days empty."),
    ],
)
def test_admin_form_refuses_a_bad_number_and_saves_nothing(editor_client, fields, message):
    response = editor_client.post(reverse("admin:newsletter_segment_add"), segment_form(**fields))
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert not Segment.objects.exists()
    fragment = editor_client.post(
        reverse("admin:newsletter_segment_count"),
        segment_form(**fields),
        headers={"HX-Request": "true"},
    )
    assert message in fragment.content.decode()


def test_send_export_and_tag_a_referral_segment(
    editor_client, referrers, mailoutbox, django_capture_on_commit_callbacks
):
    segment = Segment.objects.create(name="Ambassadors", conditions=TWO_OR_MORE)
    expected = sorted([referrers[0].email, referrers[3].email])

    with django_capture_on_commit_callbacks(execute=True):
        send = services.create_send(
            post=PostFactory(),
            created_by=None,
            mode=NewsletterSend.Mode.FULL,
            teaser_words=150,
            newsletter=Newsletter.objects.default(),
            segment=segment,
        )
    assert send.recipients_count == 2
    assert sorted(m.to[0] for m in mailoutbox) == expected

    response = editor_client.get(reverse("admin:newsletter_segment_export", args=[segment.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(row[0] for row in rows[1:]) == expected

    url = reverse("admin:newsletter_segment_tag", args=[segment.pk])
    assert "2 subscribers are in Ambassadors" in editor_client.get(url).content.decode()
    editor_client.post(url, {"new_tag": "Top referrers"})
    tagged = SubscriberTag.objects.get(name="Top referrers").readers.all()
    assert sorted(tagged.values_list("email", flat=True)) == expected
