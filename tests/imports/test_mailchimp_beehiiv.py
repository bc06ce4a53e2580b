"""Mailchimp audience exports and beehiiv subscriber exports."""

import io
import zipfile

import pytest

from accounts.models import Subscription, User
from imports.models import Import
from tests.imports.exports import (
    BEEHIIV_COLUMNS,
    MAILCHIMP_CLEANED,
    MAILCHIMP_COLUMNS,
    MAILCHIMP_UNSUBSCRIBED,
    beehiiv_subscriber,
    csv_bytes,
    mailchimp_contact,
)

pytestmark = pytest.mark.django_db


def _statuses():
    return dict(Subscription.objects.values_list("user__email", "status"))


def test_a_mailchimp_audience_csv_brings_names_dates_and_tags(import_file, run):
    data = csv_bytes(
        MAILCHIMP_COLUMNS,
        [
            mailchimp_contact(
                "lena@example.com",
                **{"First Name": "Lena", "Last Name": "Berg", "TAGS": '"Early readers","Berlin"'},
            ),
            mailchimp_contact("tom@example.com"),
        ],
    )

    job = run(import_file("mailchimp", data, filename="subscribed_members_export.csv"))

    assert job.counts["subscriber"] == {"create": 2}
    lena = User.objects.get(email="lena@example.com")
    assert lena.display_name == "Lena Berg"
    assert lena.subscription.created_at.isoformat().startswith("2023-05-01T10:05")
    assert sorted(lena.subscriber_tags.values_list("name", flat=True)) == [
        "Berlin",
        "Early readers",
    ]
    assert _statuses() == {"lena@example.com": "active", "tom@example.com": "active"}


def test_a_mailchimp_zip_keeps_unsubscribed_and_cleaned_contacts_out(import_file, run):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "subscribed_members_export_1a2b.csv",
            csv_bytes(MAILCHIMP_COLUMNS, [mailchimp_contact("in@example.com")]),
        )
        archive.writestr(
            "unsubscribed_members_export_1a2b.csv",
            csv_bytes(
                MAILCHIMP_UNSUBSCRIBED,
                [mailchimp_contact("out@example.com", UNSUB_TIME="2024-01-01 00:00:00")],
            ),
        )
        archive.writestr(
            "cleaned_members_export_1a2b.csv",
            csv_bytes(MAILCHIMP_CLEANED, [mailchimp_contact("gone@example.com")]),
        )
        archive.writestr(
            "nonsubscribed_members_export_1a2b.csv",
            csv_bytes(MAILCHIMP_COLUMNS, [mailchimp_contact("never@example.com")]),
        )

    job = run(import_file("mailchimp", buffer.getvalue(), filename="audience.zip"))

    assert _statuses() == {
        "in@example.com": "active",
        "out@example.com": "unsubscribed",
        "gone@example.com": "bounced",
    }
    assert job.counts["subscriber"] == {"create": 3, "skip": 1}
    assert not User.objects.filter(email="never@example.com").exists()


def test_an_unsubscribed_export_alone_is_recognised_by_its_columns(import_file, run):
    data = csv_bytes(MAILCHIMP_UNSUBSCRIBED, [mailchimp_contact("left@example.com")])

    run(import_file("mailchimp", data, filename="export.csv"))

    assert _statuses() == {"left@example.com": "unsubscribed"}


def test_beehiiv_statuses_names_and_tags(import_file, run):
    data = csv_bytes(
        [*BEEHIIV_COLUMNS, "tags"],
        [
            beehiiv_subscriber(
                "a@example.com", first_name="Ana", last_name="Ruiz", tags="vip, press"
            ),
            beehiiv_subscriber("b@example.com", status="inactive"),
            beehiiv_subscriber("c@example.com", status="validating"),
            beehiiv_subscriber("d@example.com", status="invalid"),
        ],
    )

    job = run(import_file("beehiiv", data, filename="subscribers.csv"))

    assert _statuses() == {
        "a@example.com": "active",
        "b@example.com": "unsubscribed",
        "d@example.com": "bounced",
    }
    ana = User.objects.get(email="a@example.com")
    assert ana.display_name == "Ana Ruiz"
    assert ana.subscription.created_at.isoformat().startswith("2024-01-10T14:00")
    # beehiiv's campaign columns become tags, so a segment can pick out a channel's readers.
    assert set(ana.subscriber_tags.values_list("name", flat=True)) == {
        "vip",
        "press",
        "utm_source: twitter",
        "utm_channel: website",
    }
    skipped = [row for row in job.report if row["action"] == "skip"]
    assert "never confirmed" in skipped[0]["message"]


def test_a_csv_with_the_wrong_columns_is_refused_and_names_what_it_found(import_file):
    job = import_file("mailchimp", b"name,phone\nAna,123\n", filename="contacts.csv")

    assert job.status == Import.Status.REFUSED
    assert "'email address'" in job.error and "name, phone" in job.error
    assert Subscription.objects.count() == 0


@pytest.mark.parametrize(
    ("encoding", "words"),
    [("utf-16", "UTF-16"), ("latin-1", "not UTF-8")],
)
def test_a_csv_in_another_encoding_is_refused_in_words(import_file, encoding, words):
    data = csv_bytes(
        BEEHIIV_COLUMNS,
        [beehiiv_subscriber("zoë@example.com", first_name="Zoë")],
        encoding=encoding,
    )

    job = import_file("beehiiv", data, filename="subscribers.csv")

    assert job.status == Import.Status.REFUSED
    assert words in job.error and "UTF-8" in job.error
    assert Subscription.objects.count() == 0


def test_a_pending_reader_becomes_active_but_an_active_one_is_untouched(import_file, run):
    from tests.factories import SubscriptionFactory

    SubscriptionFactory(user__email="pending@example.com", status="pending")
    SubscriptionFactory(user__email="active@example.com", status="active", source="site")
    data = csv_bytes(
        BEEHIIV_COLUMNS,
        [beehiiv_subscriber("pending@example.com"), beehiiv_subscriber("active@example.com")],
    )

    run(import_file("beehiiv", data))

    assert _statuses() == {"pending@example.com": "active", "active@example.com": "active"}
    assert Subscription.objects.get(user__email="active@example.com").source == "site"
