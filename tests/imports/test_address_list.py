"""A plain list of addresses from any other tool (the subscriber list's former CSV import,
now one kind of import): the email column or the first one, checked by the address rule."""

import pytest

from accounts.models import Subscription, User
from imports.models import Import
from tests.factories import make_subscribers

pytestmark = pytest.mark.django_db


def test_validates_normalises_skips_duplicates_and_never_reactivates(import_file, run):
    User.objects.create_user(email="known@example.com")  # a reader without a subscription
    pending = make_subscribers(1, status=Subscription.Status.PENDING, prefix="pending")[0]
    make_subscribers(1, prefix="already")
    for status in ("unsubscribed", "bounced", "complained"):
        make_subscribers(1, status=status, prefix=status)
    data = (
        "Name,Email,Joined\n"
        "Ada, Ada@Example.COM ,2024\n"
        "Ada again,ada@example.com,2024\n"
        "Known,known@example.com,2023\n"
        f"Pending,{pending.email},2023\n"
        "Already,already0@example.com,2023\n"
        "Left,unsubscribed0@example.com,2022\n"
        "Dead,bounced0@example.com,2022\n"
        "Angry,complained0@example.com,2022\n"
        "Broken,not-an-email,2022\n"
        "Empty,,2022\n"
        f"Long,{'x' * 250}@example.com,2022\n"
    ).encode()

    job = run(import_file("csv", data, filename="list.csv"))

    assert job.counts["subscriber"] == {"create": 1, "update": 3, "skip": 4, "problem": 3}
    problems = [row["where"] for row in job.report if row["action"] == "problem"]
    assert problems == ["line 10", "line 11", "line 12"]
    ada = Subscription.objects.get(user__email="ada@example.com")
    assert (ada.status, ada.source) == ("active", "import")
    assert Subscription.objects.get(user__email="known@example.com").status == "active"
    assert Subscription.objects.get(user=pending).status == "active"
    for status in ("unsubscribed", "bounced", "complained"):
        assert Subscription.objects.get(user__email=f"{status}0@example.com").status == status
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


def test_without_a_header_the_first_column_is_used_and_semicolons_work(import_file, run):
    run(import_file("csv", b"one@example.com;x\ntwo@example.com;y\n"))

    assert set(Subscription.objects.values_list("user__email", flat=True)) == {
        "one@example.com",
        "two@example.com",
    }


def test_twice_changes_nothing_the_second_time(import_file, run):
    data = b"email\na@example.com\nb@example.com\n"
    run(import_file("csv", data))

    again = run(import_file("csv", data))

    assert again.counts["subscriber"] == {"update": 2}
    assert User.objects.filter(email__in=["a@example.com", "b@example.com"]).count() == 2


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("email\nzoe@bücher.example\n".encode("latin-1"), "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not UTF-8"),
        (b"name,phone\nAna,123\n", "no column named email"),
    ],
)
def test_a_file_that_is_not_a_usable_list_is_refused_in_words(import_file, data, words):
    job = import_file("csv", data, filename="list.csv")

    assert job.status == Import.Status.REFUSED
    assert words in job.error
    assert not Subscription.objects.exists()
