"""The demo publication comes with a few weeks of analytics, added once."""

import pytest
from django.core.management import call_command
from django.db.models import Sum

from accounts.models import Subscription
from analytics import reports
from analytics.models import LinkArrivalDay, PostDay, SubscriberDay

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_a_history_once(editor_client):
    call_command("seed_demo", verbosity=0)
    visits = PostDay.objects.aggregate(n=Sum("visitors"))["n"]
    days = PostDay.objects.values("day").distinct().count()
    assert visits > 100 and days >= 21
    assert LinkArrivalDay.objects.values("link").distinct().count() == 3
    assert SubscriberDay.objects.filter(source__startswith="post:").exists()
    call_command("seed_demo", verbosity=0)
    assert PostDay.objects.aggregate(n=Sum("visitors"))["n"] == visits
    html = editor_client.get("/admin/").content.decode()
    assert "Latest posts" in html and "not sent" in html


def test_demo_growth_adds_up_to_the_subscribers_it_shows():
    """Every demo subscriber arrived within the demo's five weeks, so the growth chart's net
    over the year must equal the subscriber count beside it, and those who left are readers
    the subscriber list shows as unsubscribed."""
    call_command("seed_demo", verbosity=0)
    year = reports.growth(days=365)
    assert year.subscribers_now == Subscription.objects.active().count() > 50
    assert year.net == year.subscribers_now
    left = Subscription.objects.filter(status=Subscription.Status.UNSUBSCRIBED).count()
    assert year.departed == left > 0
    month = reports.growth(days=30)
    assert 0 < month.joined < year.joined
