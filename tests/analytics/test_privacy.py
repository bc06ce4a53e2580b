"""Nothing personal in any analytics table: after readers browse, subscribe from a post, arrive
from an email and load its pixel, no table has a column for, or a value holding, an address, a
browser string, an email or a user id; and the day's salt and hashes go once the day is over."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection

from accounts.models import Subscription
from analytics import counting
from analytics.models import DailySalt, SeenVisitor
from newsletter import services
from newsletter.models import NewsletterSend
from tests.analytics.conftest import BROWSER, OTHER_BROWSER, site_links, visit
from tests.factories import PostFactory, UserFactory, make_subscribers

pytestmark = pytest.mark.django_db

ADDRESSES = ["203.0.113.7", "198.51.100.23"]
BROWSERS = [BROWSER, OTHER_BROWSER]
PERSONAL_COLUMNS = {"ip", "address", "ip_address", "user_agent", "browser", "email", "user_id"}


def analytics_tables() -> list[str]:
    return [model._meta.db_table for model in apps.get_app_config("analytics").get_models()]


def test_no_analytics_table_holds_anything_personal(
    client, editor, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.ANALYTICS_EMAIL_OPENS = True
    make_subscribers(2, prefix="reader")
    post = PostFactory(body='<p><a href="/about/">About</a></p>')
    with django_capture_on_commit_callbacks(execute=True):
        services.create_send(
            post=post, created_by=editor, mode=NewsletterSend.Mode.FULL, teaser_words=150
        )
    html = mailoutbox[0].alternatives[0][0]
    pixel = html.split('<img src="http://testserver')[1].split('"')[0]
    for address, browser in zip(ADDRESSES, BROWSERS, strict=True):
        visit(
            client,
            post.get_absolute_url(),
            address=address,
            browser=browser,
            Referer="https://social.example/feed/private-page?user=someone",
        )
        for link in site_links(html):
            visit(client, link.replace("&amp;", "&"), address=address, browser=browser)
        response = visit(client, pixel, address=address, browser=browser)
        assert response.status_code == 200, pixel
        assert response["Content-Type"] == "image/gif"
    reader = UserFactory(email="subscriber.secret@example.com")
    Subscription.objects.create(
        user=reader, source=f"post:{post.pk}", status=Subscription.Status.ACTIVE
    )
    assert counting.flush() > 0

    personal = [*ADDRESSES, *BROWSERS, "Chrome/131", "someone", "private-page"]
    personal += [user.email for user in type(reader).objects.all()]
    personal += [str(user.pk) + "@" for user in type(reader).objects.all()]
    tables = analytics_tables()
    assert len(tables) == 7
    with connection.cursor() as cursor:
        rows_seen = 0
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            columns = {column.name for column in cursor.description}
            assert not columns & PERSONAL_COLUMNS, table
            for row in cursor.fetchall():
                rows_seen += 1
                text = " ".join(
                    value.hex() if isinstance(value, bytes | memoryview) else str(value)
                    for value in (bytes(v) if isinstance(v, memoryview) else v for v in row)
                )
                for value in personal:
                    assert value not in text, (table, value)
    assert rows_seen >= 7
    # Every kind of count was written, so the check above looked at real rows.
    for model in apps.get_app_config("analytics").get_models():
        assert model.objects.exists(), model.__name__


def test_yesterdays_salt_and_hashes_are_gone_after_the_next_flush(client):
    post = PostFactory()
    yesterday = counting.today() - timedelta(days=1)
    DailySalt.objects.create(day=yesterday, salt=b"x" * 32)
    SeenVisitor.objects.create(day=yesterday, key=f"p:{post.pk}", visitor="0" * 32)
    visit(client, post.get_absolute_url())
    counting.flush()
    assert list(DailySalt.objects.values_list("day", flat=True)) == [counting.today()]
    assert list(SeenVisitor.objects.values_list("day", flat=True)) == [counting.today()]


def test_the_same_reader_is_a_different_hash_on_another_day():
    today = counting.today()
    first = counting.visitor_hash(address="203.0.113.7", browser=BROWSER, day=today)
    again = counting.visitor_hash(address="203.0.113.7", browser=BROWSER, day=today)
    tomorrow = counting.visitor_hash(
        address="203.0.113.7", browser=BROWSER, day=today + timedelta(days=1)
    )
    assert first == again != tomorrow
    assert len(first) == 32
