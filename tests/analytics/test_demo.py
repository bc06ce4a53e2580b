"""The demo publication comes with a few weeks of analytics, added once."""

import pytest
from django.core.management import call_command
from django.db.models import Sum

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
