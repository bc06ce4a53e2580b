"""The admin's export: the whole publication as a Ghost JSON file, the subscribers as CSV, and
who may download either."""

import csv
import io
import json
import re
from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Subscription, User
from integrations.ghost_export import ghost_date, ghost_id
from newsletter.models import Newsletter, SubscriberTag
from tests.factories import (
    UserFactory,
    ensure_default_newsletter,
    make_subscribers,
)

pytestmark = pytest.mark.django_db

PAGE = reverse("admin:export")
GHOST = reverse("admin:export-ghost")
CSV = reverse("admin:accounts_subscription_export")
HEX24 = re.compile(r"^[0-9a-f]{24}$")
GHOST_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://news.example"


def download(client, url=GHOST, **query) -> bytes:
    response = client.get(url, query)
    assert response.status_code == HTTPStatus.OK, response
    assert response.streaming
    return b"".join(response.streaming_content)


def ghost_file(client) -> dict:
    document = json.loads(download(client))
    assert list(document) == ["db"] and len(document["db"]) == 1
    return document["db"][0]


def by(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


def test_the_ghost_file_holds_the_publication_in_ghosts_field_names(editor_client, publication):
    export = ghost_file(editor_client)
    assert export["meta"]["version"].startswith("5.")
    assert abs(export["meta"]["exported_on"] / 1000 - timezone.now().timestamp()) < 3600
    data = export["data"]
    assert list(data) == [
        "posts",
        "posts_meta",
        "tags",
        "posts_tags",
        "users",
        "posts_authors",
        "roles",
        "roles_users",
        "newsletters",
        "members",
        "labels",
        "members_labels",
        "members_newsletters",
    ]

    posts = by(data["posts"], "slug")
    assert set(posts) == {"trams-are-back", "members-read-on", "half-written", "coming-soon"}
    public = posts["trams-are-back"]
    assert HEX24.match(public["id"]) and public["id"] == ghost_id(
        "post", publication["posts"]["public"].pk
    )
    assert re.match(r"^[0-9a-f-]{36}$", public["uuid"])
    assert public["title"] == "Trams are back"
    assert public["custom_excerpt"] == "Cities rebuild their lines."
    assert (public["status"], public["visibility"], public["featured"]) == (
        "published",
        "public",
        True,
    )
    assert public["type"] == "post"
    for field in ("created_at", "updated_at", "published_at"):
        assert GHOST_DATE.match(public[field]), public[field]
    # Images and links of the site, with the site's address; the cover too.
    assert 'src="https://news.example/media/body/' in public["html"]
    assert 'srcset="https://news.example/media/body/' in public["html"]
    assert 'href="https://news.example/p/other/"' in public["html"]
    assert 'src="/' not in public["html"]
    assert public["feature_image"].startswith("https://news.example/media/covers/")
    meta = by(data["posts_meta"], "post_id")
    assert meta[public["id"]]["feature_image_alt"] == "A tram at dusk"

    gated = posts["members-read-on"]
    assert gated["visibility"] == "members"
    assert gated["html"] == (
        "<p>Everyone reads this.</p><!--members-only--><p>Subscribers read this.</p>"
    )
    assert posts["half-written"]["status"] == "draft"
    assert posts["coming-soon"]["status"] == "scheduled"

    tags = by(data["tags"], "slug")
    assert tags["climate"]["name"] == "Climate"
    assert tags["climate"]["description"] == "Heat and weather."
    post_tags = {(row["post_id"], row["tag_id"]) for row in data["posts_tags"]}
    assert (public["id"], tags["energy"]["id"]) in post_tags
    assert (gated["id"], tags["climate"]["id"]) in post_tags
    assert len(post_tags) == 3

    users = by(data["users"], "name")
    # The staff (the editor downloading it too), never the readers.
    assert set(users) == {"Ada Writer", "Ben Reporter", editor_client.user.display_name}
    assert users["Ada Writer"]["email"] == publication["ada"].email
    assert users["Ada Writer"]["slug"] == "ada-writer"
    assert users["Ada Writer"]["bio"] == "Writes about cities."
    assert all("password" not in user for user in data["users"])
    authors = sorted(
        (row["post_id"], row["author_id"], row["sort_order"]) for row in data["posts_authors"]
    )
    assert (public["id"], users["Ben Reporter"]["id"], 1) in authors
    assert len(authors) == 4
    roles = {role["id"]: role["name"] for role in data["roles"]}
    role_of = {row["user_id"]: roles[row["role_id"]] for row in data["roles_users"]}
    assert role_of[users["Ada Writer"]["id"]] == "Administrator"
    assert role_of[users["Ben Reporter"]["id"]] == "Editor"

    newsletters = by(data["newsletters"], "slug")
    weekly = newsletters["weekly"]
    assert (weekly["name"], weekly["description"], weekly["sender_name"]) == (
        "Weekly digest",
        "The week in one email.",
        "The Desk",
    )
    assert (weekly["status"], weekly["subscribe_on_signup"]) == ("active", False)
    assert newsletters["newsletter"]["subscribe_on_signup"] is True
    assert newsletters["old-series"]["status"] == "archived"
    assert weekly["visibility"] == "members"


def test_members_carry_their_status_tags_and_newsletters(editor_client, publication):
    data = ghost_file(editor_client)["data"]
    members = by(data["members"], "email")
    assert set(members) == {
        "active@example.com",
        "gone@example.com",
        "dead@example.com",
        "pending@example.com",
    }
    active = members["active@example.com"]
    assert (active["name"], active["status"], active["subscribed"]) == ("Alma Active", "free", True)
    assert active["email_disabled"] is False
    assert active["note"] == "Met at the conference."
    assert GHOST_DATE.match(active["created_at"])
    assert active["futureforward"]["status"] == "active"
    assert active["futureforward"]["source"] == "homepage"

    gone, dead, pending = (
        members["gone@example.com"],
        members["dead@example.com"],
        members["pending@example.com"],
    )
    assert (gone["subscribed"], gone["email_disabled"]) == (False, False)
    assert gone["futureforward"]["status"] == "unsubscribed"
    assert gone["futureforward"]["unsubscribed_at"] is not None
    assert (dead["subscribed"], dead["email_disabled"]) == (False, True)
    assert dead["futureforward"]["status"] == "bounced"
    assert pending["futureforward"]["status"] == "pending"

    # Ghost's "subscribed to nothing": only the active reader has newsletters.
    newsletters = by(data["newsletters"], "id")
    received = {}
    for row in data["members_newsletters"]:
        received.setdefault(row["member_id"], set()).add(newsletters[row["newsletter_id"]]["slug"])
    assert received == {active["id"]: {"newsletter", "weekly"}}

    labels = by(data["labels"], "id")
    assert {label["slug"] for label in labels.values()} == {"vip", "donor"}
    labelled = {}
    for row in data["members_labels"]:
        labelled.setdefault(row["member_id"], set()).add(labels[row["label_id"]]["name"])
    assert labelled == {active["id"]: {"VIP", "Donor"}, dead["id"]: {"VIP"}}


def test_a_second_export_gives_every_row_the_same_id(editor_client, publication):
    first = ghost_file(editor_client)["data"]
    second = ghost_file(editor_client)["data"]
    for table in ("posts", "tags", "users", "newsletters", "members", "labels"):
        assert [row["id"] for row in first[table]] == [row["id"] for row in second[table]]
        assert len({row["id"] for row in first[table]}) == len(first[table])
    assert [row["uuid"] for row in first["members"]] == [row["uuid"] for row in second["members"]]


def test_ghost_dates_are_utc_with_milliseconds():
    moment = datetime(2026, 3, 1, 9, 5, 7, 123456, tzinfo=UTC)
    assert ghost_date(moment) == "2026-03-01T09:05:07.123Z"
    assert ghost_date(None) is None


def test_export_of_many_subscribers_runs_in_the_same_number_of_queries(editor_client):
    ensure_default_newsletter()
    tag = SubscriberTag.objects.create(name="Many")

    def queries_for(count: int, prefix: str) -> tuple[int, int]:
        readers = make_subscribers(count, prefix=prefix)
        tag.readers.add(*readers)
        with CaptureQueriesContext(connection) as captured:
            members = json.loads(download(editor_client))["db"][0]["data"]["members"]
        return len(captured), len(members)

    few, members = queries_for(5, "few")
    assert members == 5
    many, members = queries_for(60, "many")
    assert members == 65
    assert many == few


def test_the_ghost_file_of_an_empty_site_is_still_a_ghost_file(editor_client):
    Newsletter.objects.all().delete()
    data = ghost_file(editor_client)["data"]
    assert data["posts"] == [] and data["members"] == [] and data["members_newsletters"] == []
    assert len(data["roles"]) == 4


# --- Who may export -------------------------------------------------------------------------


def staff_with(*codenames) -> User:
    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames)
    )
    return user


@pytest.mark.parametrize("url", [PAGE, GHOST, CSV])
def test_staff_without_the_permission_get_403(client, url):
    client.force_login(staff_with("view_subscription", "change_subscription"))
    response = client.get(url)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert b"@example.com" not in response.content


def test_staff_given_the_permission_may_export(client, publication):
    client.force_login(staff_with("view_subscription", "export_subscribers"))
    page = client.get(PAGE)
    assert page.status_code == HTTPStatus.OK
    text = page.content.decode()
    assert "Download the Ghost JSON file" in text and "Download all subscribers (CSV)" in text
    assert json.loads(download(client))["db"][0]["data"]["members"]
    assert b"active@example.com" in download(client, CSV)


def test_readers_and_anonymous_visitors_are_sent_to_log_in(client, publication):
    assert client.get(GHOST).status_code == HTTPStatus.FOUND
    client.force_login(publication["readers"]["active"])
    response = client.get(GHOST)
    assert response.status_code in (HTTPStatus.FOUND, HTTPStatus.FORBIDDEN)
    assert b"dead@example.com" not in response.content


def test_the_export_link_shows_only_to_those_who_may_export(client, editor_client):
    assert reverse("admin:export") in editor_client.get(reverse("admin:index")).content.decode()
    client.force_login(staff_with("view_subscription"))
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:export") not in index
    listing = client.get(reverse("admin:accounts_subscription_changelist")).content.decode()
    assert "Export CSV" not in listing


# --- The subscribers CSV ------------------------------------------------------------------


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


def test_subscribers_csv_has_names_newsletters_and_tags(editor_client, publication):
    rows = csv_rows(download(editor_client, CSV))
    header = rows[0]
    assert header == [
        "email",
        "status",
        "source",
        "created",
        "confirmed",
        "unsubscribed",
        "reason",
        "name",
        "newsletters",
        "tags",
    ]
    by_email = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    active = by_email["active@example.com"]
    assert active["name"] == "Alma Active"
    assert active["newsletters"] == f"{publication['default'].name}; Weekly digest"
    assert active["tags"] == "Donor; VIP"
    assert by_email["dead@example.com"]["status"] == "bounced"
    assert by_email["dead@example.com"]["tags"] == "VIP"
    assert by_email["gone@example.com"]["unsubscribed"]


def test_subscribers_csv_neutralises_formula_names(editor_client):
    ensure_default_newsletter()
    user = User.objects.create_user(email="sheet@example.com", display_name="=HYPERLINK(1)")
    Subscription.objects.create(user=user, status="active", source="+source")
    SubscriberTag.objects.create(name="@tag").readers.add(user)
    rows = csv_rows(download(editor_client, CSV))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["name"] == "'=HYPERLINK(1)"
    assert row["source"] == "'+source"
    assert row["tags"] == "'@tag"


def test_subscribers_csv_runs_in_the_same_number_of_queries(editor_client):
    ensure_default_newsletter()

    def queries_for(count: int, prefix: str) -> int:
        make_subscribers(count, prefix=prefix)
        with CaptureQueriesContext(connection) as captured:
            rows = csv_rows(download(editor_client, CSV))
        assert len(rows) == 1 + Subscription.objects.count()
        return len(captured)

    assert queries_for(3, "few") == queries_for(50, "many")
