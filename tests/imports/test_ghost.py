"""A Ghost 5 JSON export, imported through the services (tasks run at once)."""

import json
from http import HTTPStatus

import pytest

from accounts.models import Subscription, User
from imports.models import Import, RemoteImage
from newsletter.models import Membership, Newsletter, SubscriberTag
from posts.models import Post, Tag
from tests.imports.exports import csv_bytes, ghost_export, ghost_member, ghost_post

pytestmark = pytest.mark.django_db


def _export(**overrides):
    parts = {
        "posts": [
            ghost_post(
                "p1",
                "welcome-home",
                "Welcome home",
                custom_excerpt="An opening note",
                feature_image="https://images.example.org/cover.jpg",
                html='<p>Hello.</p><figure class="kg-card kg-image-card"><img '
                'src="__GHOST_URL__/content/images/2024/02/map.png" class="kg-image" '
                'alt="A map of the valley" loading="lazy"><figcaption>The valley'
                "</figcaption></figure>",
            ),
            ghost_post("p2", "members-only", "Members only", visibility="members"),
            ghost_post("p3", "paid-only", "Paid only", visibility="paid"),
            ghost_post("p4", "in-progress", "In progress", status="draft", published_at=None),
            ghost_post(
                "p6",
                "coming-soon",
                "Coming soon",
                status="scheduled",
                published_at="2099-01-01T08:00:00.000Z",
                html='<p>See <a href="__GHOST_URL__/welcome-home/">the first post</a>.</p>',
            ),
            ghost_post("p5", "about-us", "About us", type="page"),
        ],
        "tags": [
            {"id": "t1", "name": "Climate", "slug": "climate", "description": None},
            {"id": "t2", "name": "#internal", "slug": "hash-internal", "description": None},
        ],
        "posts_tags": [
            {"id": "pt1", "post_id": "p1", "tag_id": "t1", "sort_order": 0},
            {"id": "pt2", "post_id": "p1", "tag_id": "t2", "sort_order": 1},
        ],
        "users": [
            {
                "id": "u1",
                "name": "Mina Okafor",
                "slug": "mina",
                "email": "mina@example.org",
                "bio": "Writes about water.",
                "status": "active",
            }
        ],
        "posts_authors": [
            {"id": "pa1", "post_id": "p1", "author_id": "u1", "sort_order": 0},
            {"id": "pa2", "post_id": "p2", "author_id": "u1", "sort_order": 0},
        ],
        "members": [
            ghost_member("m1", "reader.one@example.net", name="Reader One"),
            ghost_member("m2", "reader.two@example.net"),
            ghost_member("m3", "bounced@example.net", email_disabled=True),
        ],
        "labels": [{"id": "l1", "name": "VIP", "slug": "vip"}],
        "members_labels": [{"id": "ml1", "member_id": "m1", "label_id": "l1", "sort_order": 0}],
        "newsletters": [
            {
                "id": "n1",
                "uuid": "n1",
                "name": "Weekly letter",
                "slug": "weekly-letter",
                "status": "active",
            },
            {
                "id": "n2",
                "uuid": "n2",
                "name": "Field notes",
                "slug": "field-notes",
                "status": "active",
            },
        ],
        "members_newsletters": [
            {"id": "mn1", "member_id": "m1", "newsletter_id": "n1"},
            {"id": "mn2", "member_id": "m1", "newsletter_id": "n2"},
            {"id": "mn3", "member_id": "m3", "newsletter_id": "n1"},
        ],
    }
    parts.update(overrides)
    return ghost_export(**parts)


def test_posts_tags_authors_members_labels_and_newsletters(import_file, run, mailoutbox):
    job = run(import_file("ghost", _export(), old_site_url="https://old.example.org"))

    assert job.status == Import.Status.DONE
    assert job.counts["post"] == {"create": 5, "problem": 1}
    soon = Post.objects.get(slug="coming-soon")
    assert soon.status == Post.Status.SCHEDULED and soon.published_at.year == 2099
    assert 'href="/welcome-home/"' in soon.body  # the old address, which redirects
    welcome = Post.objects.get(slug="welcome-home")
    assert welcome.subtitle == "An opening note"
    assert list(welcome.tags.values_list("name", flat=True)) == ["Climate"]
    assert not Tag.objects.filter(name="#internal").exists()  # Ghost's internal tags stay there
    author = welcome.authors.get()
    assert (author.email, author.display_name) == ("mina@example.org", "Mina Okafor")
    assert author.is_staff and not author.is_active and not author.has_usable_password()
    assert Post.objects.get(slug="members-only").audience == Post.Audience.SUBSCRIBERS
    assert Post.objects.get(slug="paid-only").audience == Post.Audience.SUBSCRIBERS
    assert Post.objects.get(slug="in-progress").status == Post.Status.DRAFT
    assert not Post.objects.filter(slug="about-us").exists()

    # The image is listed for fetching, and readers meanwhile get a link to it.
    assert set(RemoteImage.objects.values_list("url", "role")) == {
        ("https://old.example.org/content/images/2024/02/map.png", "body"),
        ("https://images.example.org/cover.jpg", "cover"),
    }
    assert "Image: A map of the valley" in welcome.body

    one = User.objects.get(email="reader.one@example.net")
    assert one.display_name == "Reader One"
    assert one.subscription.status == Subscription.Status.ACTIVE
    assert sorted(
        Membership.objects.filter(user=one).values_list("newsletter__name", flat=True)
    ) == ["Field notes", "Weekly letter"]
    assert SubscriberTag.objects.get(name="VIP").readers.get() == one
    assert Newsletter.objects.get(slug="weekly-letter").is_choosable is False
    # A member on no newsletter had unsubscribed; an email_disabled one bounced.
    assert Subscription.objects.get(user__email="reader.two@example.net").status == "unsubscribed"
    assert Subscription.objects.get(user__email="bounced@example.net").status == "bounced"
    assert mailoutbox == []


def test_the_author_can_not_log_in_but_has_an_author_page(import_file, run, client):
    run(import_file("ghost", _export()))
    author = User.objects.get(email="mina@example.org")

    assert client.get(f"/author/{author.pk}/").status_code == HTTPStatus.OK
    assert client.login(email="mina@example.org", password="") is False


def test_old_ghost_addresses_redirect_permanently(import_file, run, client):
    run(import_file("ghost", _export()))

    response = client.get("/welcome-home/")
    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == "/p/welcome-home/"
    without_slash = client.get("/welcome-home")
    assert without_slash.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert without_slash["Location"] == "/p/welcome-home/"
    assert client.get("/nothing-here/").status_code == HTTPStatus.NOT_FOUND


def test_a_top_level_meta_and_data_file_is_read_too(import_file, run):
    job = run(import_file("ghost", _export(wrapped=False)))

    assert job.counts["post"]["create"] == 5


def test_running_it_again_updates_without_duplicates(import_file, run):
    run(import_file("ghost", _export()))
    counts = (
        Post.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        RemoteImage.objects.count(),
        Newsletter.objects.count(),
    )

    job = run(import_file("ghost", _export()))

    assert job.counts["post"] == {"update": 5, "problem": 1}
    assert counts[:3] == (Post.objects.count(), User.objects.count(), Membership.objects.count())
    assert Newsletter.objects.count() == counts[4]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"posts": []}', "not a Ghost export"),
        (b"[1, 2, 3]", "not a Ghost export"),
        (b'{"db": [{"data": {"posts": [', "not valid JSON"),
        (json.dumps({"data": {"posts": []}}).encode("utf-16"), "UTF-16"),
    ],
)
def test_json_of_another_shape_is_refused_in_words(import_file, data, words):
    job = import_file("ghost", data)

    assert job.status == Import.Status.REFUSED
    assert words in job.error
    assert Post.objects.count() == 0


GHOST_MEMBER_COLUMNS = [
    "id",
    "email",
    "name",
    "note",
    "subscribed_to_emails",
    "complimentary_plan",
    "stripe_customer_id",
    "created_at",
    "deleted_at",
    "labels",
    "tiers",
]


def _members_csv(*rows: dict) -> bytes:
    return csv_bytes(GHOST_MEMBER_COLUMNS, list(rows))


def test_ghosts_members_csv_brings_names_dates_labels_and_who_left(import_file, run):
    data = _members_csv(
        {
            "id": "m1",
            "email": "ines@example.net",
            "name": "Ines Vidal",
            "subscribed_to_emails": "true",
            "created_at": "2023-09-14T07:30:00.000Z",
            "labels": "Founding readers, Lisbon",
        },
        {"id": "m2", "email": "otto@example.net", "subscribed_to_emails": "false"},
        {
            "id": "m3",
            "email": "gone@example.net",
            "subscribed_to_emails": "true",
            "deleted_at": "2024-01-02T00:00:00.000Z",
        },
    )

    job = import_file("ghost", data, filename="members.2024-06-01.csv")
    assert job.status == Import.Status.CHECKED
    job = run(job)

    ines = User.objects.get(email="ines@example.net")
    assert ines.display_name == "Ines Vidal"
    assert ines.subscription.created_at.isoformat().startswith("2023-09-14T07:30")
    assert sorted(ines.subscriber_tags.values_list("name", flat=True)) == [
        "Founding readers",
        "Lisbon",
    ]
    assert dict(Subscription.objects.values_list("user__email", "status")) == {
        "ines@example.net": "active",
        "otto@example.net": "unsubscribed",
    }


def test_a_csv_that_is_not_ghosts_members_export_is_refused_in_words(import_file):
    job = import_file("ghost", b"email,status\nsam@example.net,active\n", filename="list.csv")

    assert job.status == Import.Status.REFUSED
    assert "members CSV" in job.error and "Members › Export" in job.error
    assert not User.objects.filter(email="sam@example.net").exists()
