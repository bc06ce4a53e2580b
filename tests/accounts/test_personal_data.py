"""The reader's data export is assembled from sections each app registers; accounts imports
none of the apps whose data it carries."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts import personal_data
from comments.personal_data import comments
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_every_app_contributes_its_sections():
    assert personal_data.sections() == [
        "account",
        "email_addresses",
        "subscription",
        "referrals",
        "thumbs_up",
        "poll_votes",
        "comments",
        "comment_likes",
        "comment_reports",
        "discussion",
        "newsletter_emails",
        "newsletters",
    ]


def test_a_reader_who_did_nothing_gets_every_section_empty():
    data = personal_data.reader_data(user=UserFactory())
    assert set(personal_data.sections()) <= set(data)
    assert data["subscription"] is None and data["discussion"] is None
    assert data["poll_votes"] == [] and data["comments"] == [] and data["thumbs_up"] == []


def test_a_section_name_cannot_be_taken_twice():
    personal_data.register("comments", comments)  # the same exporter again: nothing changes
    with pytest.raises(ImproperlyConfigured, match="comments"):
        personal_data.register("comments", lambda user: [])
