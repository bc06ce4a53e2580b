"""The editors' analytics pages and the admin dashboard: staff only, read from rollups (the same
number of queries for ten visits as for a million), and what they show."""

import csv
import io
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Subscription
from analytics import counting
from analytics.models import LinkArrivalDay, PostDay, ReferrerDay, SubscriberDay
from comments.models import Comment
from newsletter.models import Delivery, NewsletterSend
from tests.factories import (
    CommentFactory,
    PostFactory,
    SubscriptionFactory,
    ThumbsUpFactory,
    UserFactory,
    make_subscribers,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def post():
    return PostFactory(title="Heat pumps in winter")


def pages(post, send):
    return [
        reverse("analytics:overview"),
        reverse("analytics:post", args=[post.pk]),
        reverse("analytics:send", args=[send.pk]),
        reverse("analytics:post", args=[post.pk]) + "?csv=visitors",
    ]


def make_send(post, **fields):
    return NewsletterSend.objects.create(
        post=post, status=NewsletterSend.Status.FINISHED, started_at=timezone.now(), **fields
    )


def test_only_staff_see_analytics(client, post):
    send = make_send(post)
    for url in pages(post, send):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"].startswith("/admin/login/")
    client.force_login(SubscriptionFactory().user)  # a reader, logged in
    for url in pages(post, send):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert "Heat pumps" not in response.content.decode()


def test_staff_see_every_page(editor_client, post):
    send = make_send(post)
    for url in pages(post, send):
        assert editor_client.get(url).status_code == HTTPStatus.OK, url


def record_history(post, *, days: int, visitors_a_day: int, hosts: int):
    today = counting.today()
    PostDay.objects.bulk_create(
        PostDay(post=post, day=today - timedelta(days=n), visitors=visitors_a_day)
        for n in range(days)
    )
    ReferrerDay.objects.bulk_create(
        ReferrerDay(post=post, day=today - timedelta(days=n), host=f"site{h}.example", visitors=3)
        for n in range(days)
        for h in range(hosts)
    )
    SubscriberDay.objects.bulk_create(
        SubscriberDay(day=today - timedelta(days=n), source=f"post:{post.pk}", joined=2)
        for n in range(days)
    )


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == HTTPStatus.OK
    return len(captured)


def test_a_post_with_a_million_visits_costs_the_same_queries_as_one_with_ten(editor_client):
    small, big = PostFactory(), PostFactory()
    record_history(small, days=1, visitors_a_day=10, hosts=1)
    record_history(big, days=365, visitors_a_day=2_740, hosts=20)  # 1,000,100 visits
    assert sum(PostDay.objects.filter(post=big).values_list("visitors", flat=True)) > 1_000_000
    for url in ("analytics:post",):
        for days in ("30", "365"):
            first = queries(editor_client, reverse(url, args=[small.pk]) + f"?days={days}")
            second = queries(editor_client, reverse(url, args=[big.pk]) + f"?days={days}")
            assert first == second
    assert queries(editor_client, reverse("analytics:overview")) == queries(
        editor_client, reverse("analytics:overview") + "?days=365"
    )


def test_post_page_shows_visitors_sources_and_conversions(editor_client, post):
    record_history(post, days=3, visitors_a_day=7, hosts=2)
    ThumbsUpFactory(post=post)
    CommentFactory(post=post)
    html = editor_client.get(reverse("analytics:post", args=[post.pk])).content.decode()
    assert '<svg class="chart"' in html and 'role="img"' in html and "<title" in html
    assert "site0.example" in html and "site1.example" in html
    assert "<dt>Visitors, all time</dt><dd>21</dd>" in html
    assert "<dt>New subscribers from this post</dt><dd>6</dd>" in html
    assert "<dt>Thumbs up</dt><dd>1</dd>" in html
    assert "<dt>Comments</dt><dd>1</dd>" in html


def test_charts_download_as_csv(editor_client, post):
    record_history(post, days=2, visitors_a_day=5, hosts=0)
    response = editor_client.get(reverse("analytics:post", args=[post.pk]) + "?csv=visitors")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["", "Visitors"]
    assert len(rows) == 31
    assert rows[-1] == [counting.today().isoformat(), "5"]


def test_csv_never_hands_a_spreadsheet_a_formula(editor_client):
    evil = PostFactory(title="=HYPERLINK(1)")
    SubscriberDay.objects.create(day=counting.today(), source=f"post:{evil.pk}", joined=1)
    response = editor_client.get(reverse("analytics:overview") + "?csv=growth")
    assert "\n=" not in response.content.decode()


def test_growth_counts_joins_and_leaves_by_source_however_they_happen(editor_client, post):
    reader = UserFactory()
    subscription = Subscription.objects.create(
        user=reader, source=f"post:{post.pk}", status=Subscription.Status.PENDING
    )
    subscription.status = Subscription.Status.ACTIVE  # confirmed by the code
    subscription.save()
    make_subscribers(3)  # source "import"-like, from the factory helper
    Subscription.objects.filter(user__in=make_subscribers(2, prefix="gone")).update(
        status=Subscription.Status.UNSUBSCRIBED
    )
    today = counting.today()
    assert SubscriberDay.objects.get(day=today, source=f"post:{post.pk}").joined == 1
    assert sum(SubscriberDay.objects.filter(day=today).values_list("departed", flat=True)) == 2
    html = editor_client.get(reverse("analytics:overview")).content.decode()
    assert "Heat pumps in winter" in html  # the post, named as the source of a subscriber
    assert f'href="/admin/analytics/post/{post.pk}/"' in html


def test_send_report_counts_outcomes_and_arrivals_per_link(editor_client, post):
    send = make_send(post, recipients_count=5, sent_count=3)
    readers = make_subscribers(5)
    statuses = ["sent", "sent", "sent", "bounced", "failed"]
    Delivery.objects.bulk_create(
        Delivery(send=send, user=r, status=s) for r, s in zip(readers, statuses, strict=True)
    )
    Subscription.objects.filter(user=readers[0]).update(
        status=Subscription.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now()
    )
    Subscription.objects.filter(user=readers[1]).update(status=Subscription.Status.COMPLAINED)
    LinkArrivalDay.objects.create(
        send=send, link=1, path="/p/heat/", day=counting.today(), visitors=4
    )
    LinkArrivalDay.objects.create(
        send=send, link=2, path="/about/", day=counting.today(), visitors=1
    )
    html = editor_client.get(reverse("analytics:send", args=[send.pk])).content.decode()
    for expected in (
        "<dt>Delivered</dt><dd>3</dd>",
        "<dt>Bounced</dt><dd>1</dd>",
        "<dt>Complained</dt><dd>1</dd>",
        "<dt>Unsubscribed since</dt><dd>1</dd>",
        "<dt>Arrivals on the site</dt><dd>5</dd>",
        "#1 /p/heat/",
        "Apple Mail Privacy Protection",
        "Open tracking is off",
    ):
        assert expected in html, expected


def test_the_admin_index_is_the_editors_dashboard(editor_client, post):
    post.published_at = timezone.now()
    post.save()
    SubscriptionFactory.create_batch(3)
    CommentFactory(post=post, status=Comment.Status.HELD)
    make_send(post, sent_count=42).__class__.objects.filter(post=post).update(
        status=NewsletterSend.Status.SENDING, recipients_count=50
    )
    html = editor_client.get("/admin/").content.decode()
    assert "<dt>Subscribers now</dt><dd>3</dd>" in html
    assert "<strong>1</strong> comment waits for review" in html
    assert "<strong>1</strong> send in progress" in html
    assert "42 of 50 sent" in html
    assert "Heat pumps in winter" in html
    for days in (30, 90, 365):
        assert f'href="?days={days}"' in html
    html_365 = editor_client.get("/admin/?days=365").content.decode()
    assert "last 365 days" in html_365


def test_overview_ranks_posts_by_visitors_and_by_new_subscribers(editor_client):
    popular, converting = PostFactory(title="Read by many"), PostFactory(title="Signs people up")
    today = counting.today()
    PostDay.objects.create(post=popular, day=today, visitors=500)
    PostDay.objects.create(post=converting, day=today, visitors=20)
    SubscriberDay.objects.create(day=today, source=f"post:{converting.pk}", joined=9)
    SubscriberDay.objects.create(day=today, source=f"post:{popular.pk}", joined=1)
    html = editor_client.get(reverse("analytics:overview")).content.decode()
    by_visitors = html[html.index("Top posts by visitors") : html.index("Top posts by new")]
    by_subscribers = html[html.index("Top posts by new") :]
    assert by_visitors.index("Read by many") < by_visitors.index("Signs people up")
    assert by_subscribers.index("Signs people up") < by_subscribers.index("Read by many")


def test_a_deleted_reader_who_was_subscribed_counts_as_left_and_an_import_as_joined():
    readers = make_subscribers(4, prefix="imported")  # one statement, like the CSV import
    today = counting.today()
    assert SubscriberDay.objects.get(day=today, source="test").joined == 4
    readers[0].delete()  # the reader deleted their account
    row = SubscriberDay.objects.get(day=today, source="test")
    assert (row.joined, row.departed) == (4, 1)


def test_the_dashboard_and_analytics_pages_are_valid_html(editor_client, post):
    from tests.test_valid_html import problems

    record_history(post, days=3, visitors_a_day=4, hosts=2)
    send = make_send(post)
    LinkArrivalDay.objects.create(send=send, link=1, path="/", day=counting.today(), visitors=2)
    for url in ["/admin/", "/admin/?days=365", *pages(post, send)[:3]]:
        assert problems(editor_client.get(url).content.decode()) == [], url


def test_the_post_list_links_each_post_to_its_analytics(editor_client, post):
    html = editor_client.get("/admin/posts/post/").content.decode()
    assert f'<a href="/admin/analytics/post/{post.pk}/">Readers</a>' in html
