"""Referrals: a reader's link brings a new reader, who counts once they confirm; bursts are held,
forged links credit nobody, and milestone rewards go out once."""

import threading
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.urls import reverse

from accounts import referrals
from accounts.models import Referral, Subscription, User
from accounts.services import confirm_subscription
from newsletter.models import Newsletter, ReferralMilestone, ReferralReward
from newsletter.referrals import send_referral_rewards
from tests.concurrency import failures, run_at_once
from tests.conftest import code_from_mail
from tests.factories import SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

SUBSCRIBE = reverse("accounts:subscribe")


@pytest.fixture
def referrer(db):
    return SubscriptionFactory(user=UserFactory(email="ada@example.com")).user


def follow_link(client, user):
    """Open the reader's referral link; return the subscribe page it leads to."""
    code = referrals.code_for(user)
    response = client.get(f"/r/{code}/")
    assert response.status_code == HTTPStatus.FOUND
    return client.get(response.url)


def subscribe_and_confirm(client, mailoutbox, email, capture, **extra):
    """Subscribe through the form in this client's session, then type the emailed code."""
    before = len(mailoutbox)
    response = client.post(SUBSCRIBE, {"email": email, "source": "test", **extra})
    assert response.status_code == HTTPStatus.FOUND, response.content
    code = code_from_mail(mailoutbox[before])
    with capture(execute=True):
        response = client.post(response.url, {"code": code})
    assert response.status_code == HTTPStatus.FOUND
    return User.objects.get(email=email)


def test_link_then_subscribe_then_confirm_counts_one(
    client, referrer, mailoutbox, django_capture_on_commit_callbacks
):
    page = follow_link(client, referrer)
    # The form carries the code itself, so it works even if the session cookie is lost.
    assert f'value="{referrals.code_for(referrer)}"' in page.content.decode()

    friend = subscribe_and_confirm(
        client, mailoutbox, "friend@example.com", django_capture_on_commit_callbacks
    )

    assert friend.subscription.status == Subscription.Status.ACTIVE
    assert referrals.referral_count(referrer) == 1
    client.force_login(referrer)
    account = client.get(reverse("accounts:account")).content.decode()
    assert '<strong id="referral-count">1</strong>' in account
    assert referrals.referral_url(referrer) in account


def test_the_hidden_field_works_without_the_session(
    client, referrer, mailoutbox, django_capture_on_commit_callbacks
):
    code = referrals.code_for(referrer)
    subscribe_and_confirm(
        client, mailoutbox, "cookieless@example.com", django_capture_on_commit_callbacks, ref=code
    )
    assert referrals.referral_count(referrer) == 1


def test_a_referral_waits_for_the_confirmation(client, referrer, mailoutbox):
    follow_link(client, referrer)
    client.post(SUBSCRIBE, {"email": "slow@example.com"})
    referral = Referral.objects.get(referred__email="slow@example.com")
    assert referral.counted_at is None
    assert referrals.referral_count(referrer) == 0


@pytest.mark.parametrize("email", ["ada@example.com", "Ada+again@Example.com"])
def test_referring_yourself_counts_nothing(
    client, referrer, mailoutbox, django_capture_on_commit_callbacks, email
):
    follow_link(client, referrer)
    before = len(mailoutbox)
    response = client.post(SUBSCRIBE, {"email": email})
    assert response.status_code == HTTPStatus.FOUND
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response.url, {"code": code_from_mail(mailoutbox[before])})
    assert not Referral.objects.exists()
    assert referrals.referral_count(referrer) == 0


def test_an_existing_subscriber_is_not_a_new_referral(client, referrer, subscriber, mailoutbox):
    follow_link(client, referrer)
    client.post(SUBSCRIBE, {"email": subscriber.email})
    assert not Referral.objects.exists()


def test_a_burst_from_one_network_is_held_for_an_editor(
    client, referrer, mailoutbox, django_capture_on_commit_callbacks
):
    # Five friends from the same office network (REMOTE_ADDR differs only in the last part).
    for number in range(5):
        client.cookies.clear()
        follow_link(client, referrer)
        before = len(mailoutbox)
        response = client.post(
            SUBSCRIBE,
            {"email": f"office{number}@example.com"},
            REMOTE_ADDR=f"203.0.113.{10 + number}",
        )
        with django_capture_on_commit_callbacks(execute=True):
            client.post(response.url, {"code": code_from_mail(mailoutbox[before])})
    assert referrals.referral_count(referrer) == 3
    held = Referral.objects.held()
    assert sorted(r.referred.email for r in held) == ["office3@example.com", "office4@example.com"]
    assert "203.0.113" not in str(list(Referral.objects.values_list("network", flat=True)))

    # Someone from elsewhere still counts.
    client.cookies.clear()
    follow_link(client, referrer)
    before = len(mailoutbox)
    response = client.post(SUBSCRIBE, {"email": "far@example.com"}, REMOTE_ADDR="198.51.100.7")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response.url, {"code": code_from_mail(mailoutbox[before])})
    assert referrals.referral_count(referrer) == 4

    # The editor approves one held referral: it counts at once (the reader has confirmed).
    with django_capture_on_commit_callbacks(execute=True):
        assert referrals.approve_referral(referral=held.first())
    assert referrals.referral_count(referrer) == 5


def test_a_burst_ends_with_the_hour(referrer):
    network = referrals.network_bucket("203.0.113.5")
    for number in range(3):
        referred = SubscriptionFactory(status=Subscription.Status.PENDING, confirmed_at=None).user
        referral = referrals.record_referral(
            referred=referred, code=referrals.code_for(referrer), network=network
        )
        assert not referral.held, number
    Referral.objects.update(created_at=referral.created_at - timedelta(hours=2))
    later = SubscriptionFactory(status=Subscription.Status.PENDING, confirmed_at=None).user
    assert not referrals.record_referral(
        referred=later, code=referrals.code_for(referrer), network=network
    ).held


@pytest.mark.parametrize(
    "mangle",
    [
        lambda code: code[:-1] + ("A" if code[-1] != "A" else "B"),  # altered signature
        lambda code: "1" + code,  # another reader's id, same signature
        lambda code: "nothing-here",
    ],
)
def test_a_forged_code_says_so_and_credits_nobody(
    client, referrer, mailoutbox, django_capture_on_commit_callbacks, mangle
):
    forged = mangle(referrals.code_for(referrer))
    response = client.get(f"/r/{forged}/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "This referral link is not valid" in response.content.decode()
    # Posted straight into the form's hidden field, it is ignored too.
    subscribe_and_confirm(
        client, mailoutbox, "forger@example.com", django_capture_on_commit_callbacks, ref=forged
    )
    assert not Referral.objects.exists()


def test_revoking_drops_the_count(client, referrer, mailoutbox, django_capture_on_commit_callbacks):
    follow_link(client, referrer)
    capture = django_capture_on_commit_callbacks
    subscribe_and_confirm(client, mailoutbox, "fake@example.com", capture)
    assert referrals.referral_count(referrer) == 1
    assert referrals.revoke_referral(referral=Referral.objects.get())
    assert referrals.referral_count(referrer) == 0
    assert not referrals.revoke_referral(referral=Referral.objects.get())  # once


@pytest.mark.django_db(transaction=True)
def test_the_same_confirmation_twice_at_once_gives_one_credit(referrer, mailoutbox):
    milestone = ReferralMilestone.objects.create(count=1, subject="You did it", body="Thanks!")
    friend = SubscriptionFactory(
        user=UserFactory(email="twice@example.com"),
        status=Subscription.Status.PENDING,
        confirmed_at=None,
    ).user
    referrals.record_referral(referred=friend, code=referrals.code_for(referrer))
    credited = []
    lock = threading.Lock()

    def count(sender, referral, referrer, **kwargs):
        with lock:
            credited.append(referral.pk)

    from accounts.signals import referral_counted, subscription_confirmed

    referral_counted.connect(count, dispatch_uid="test.count")
    try:
        # Two requests confirm at once; each also announces the confirmation, as a retried
        # request or the account page's "receive the newsletter" would.
        def confirm(_index):
            confirm_subscription(user=User.objects.get(pk=friend.pk))
            subscription_confirmed.send(
                sender=Subscription,
                subscription=Subscription.objects.get(user=friend),
                user=User.objects.get(pk=friend.pk),
                first_time=True,
            )

        outcomes = run_at_once(2, confirm)
    finally:
        referral_counted.disconnect(dispatch_uid="test.count")
    assert failures(outcomes) == []
    assert len(credited) == 1
    assert referrals.referral_count(referrer) == 1
    rewards = [m for m in mailoutbox if m.subject == "You did it"]
    assert len(rewards) == 1
    assert ReferralReward.objects.get(milestone=milestone, user=referrer).sent_at


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_send_a_reward_once(referrer, mailoutbox):
    ReferralMilestone.objects.create(count=1, subject="One friend", body="Thank you.")
    friend = SubscriptionFactory(user=UserFactory(email="race@example.com")).user
    Referral.objects.create(referrer=referrer, referred=friend)
    Referral.objects.update(counted_at=friend.subscription.confirmed_at)

    outcomes = run_at_once(3, lambda _i: send_referral_rewards(user_id=referrer.pk))
    assert failures(outcomes) == []
    assert sorted(outcomes) == [0, 0, 1]
    assert [m.subject for m in mailoutbox] == ["One friend"]
    connection.close()


def test_milestones_send_once_and_survive_a_revoke(referrer, mailoutbox):
    ReferralMilestone.objects.create(count=1, subject="First friend", body="Thank you!")
    ReferralMilestone.objects.create(count=2, subject="Two friends", body="A sticker for you.")
    friends = [SubscriptionFactory().user for _ in range(2)]
    first = Referral.objects.create(referrer=referrer, referred=friends[0])
    Referral.objects.filter(pk=first.pk).update(counted_at=first.created_at)

    assert send_referral_rewards(user_id=referrer.pk) == 1
    assert send_referral_rewards(user_id=referrer.pk) == 0  # a retry sends nothing again
    assert [m.subject for m in mailoutbox] == ["First friend"]
    assert mailoutbox[0].to == [referrer.email]
    assert "Thank you!" in mailoutbox[0].body
    assert referrals.referral_url(referrer) in mailoutbox[0].body

    referrals.revoke_referral(referral=first)
    second = Referral.objects.create(referrer=referrer, referred=friends[1])
    Referral.objects.filter(pk=second.pk).update(counted_at=second.created_at)
    # Back to one counted: the first reward is not sent again, the second not reached.
    assert send_referral_rewards(user_id=referrer.pk) == 0
    assert [m.subject for m in mailoutbox] == ["First friend"]


def test_a_failing_mail_server_leaves_the_reward_for_the_retry(referrer, mailoutbox, settings):
    ReferralMilestone.objects.create(count=1, subject="First friend", body="Thank you!")
    friend = SubscriptionFactory().user
    referral = Referral.objects.create(referrer=referrer, referred=friend)
    Referral.objects.filter(pk=referral.pk).update(counted_at=referral.created_at)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    with pytest.raises(OSError):
        send_referral_rewards(user_id=referrer.pk)
    assert ReferralReward.objects.get().sent_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_referral_rewards(user_id=referrer.pk) == 1
    assert [m.subject for m in mailoutbox] == ["First friend"]


def test_the_newsletter_footer_carries_the_readers_own_link(referrer, mailoutbox):
    from newsletter import welcome

    # The welcome series' first email, as the worker sends it.
    welcome.enter_series(user=referrer, newsletter=Newsletter.objects.default())
    assert welcome.run_due(worker_id="w") == {"sent": 1}
    assert referrals.referral_url(referrer) in mailoutbox[0].body
    html = mailoutbox[0].alternatives[0][0]
    assert referrals.referral_url(referrer) in html
    assert "%%FF:" not in html + mailoutbox[0].body


def test_editors_see_the_leaderboard_and_revoke(
    editor_client, referrer, django_capture_on_commit_callbacks
):
    other = SubscriptionFactory(user=UserFactory(email="bob@example.com")).user
    for owner, count in ((referrer, 3), (other, 1)):
        for _ in range(count):
            referral = Referral.objects.create(referrer=owner, referred=SubscriptionFactory().user)
            Referral.objects.filter(pk=referral.pk).update(counted_at=referral.created_at)
    page = editor_client.get("/admin/accounts/referrer/").content.decode()
    assert page.index("ada@example.com") < page.index("bob@example.com")

    target = Referral.objects.filter(referrer=referrer).first()
    response = editor_client.post(
        "/admin/accounts/referral/",
        {"action": "revoke", "_selected_action": [target.pk]},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert referrals.referral_count(referrer) == 2


def test_seed_demo_brings_milestones_and_a_referrer_with_two_friends():
    from django.core.management import call_command

    call_command("seed_demo")
    call_command("seed_demo")
    assert list(ReferralMilestone.objects.values_list("count", flat=True)) == [3, 10]
    (top,) = {referral.referrer for referral in Referral.objects.all()}
    assert referrals.referral_count(top) == 2


def test_after_a_first_vote_the_reader_is_offered_their_link(auth_client):
    from tests.factories import PollFactory

    poll = PollFactory()
    choices = list(poll.choices.order_by("position").values_list("pk", flat=True))
    path = reverse("polls:vote", args=[poll.pk])
    htmx = {"HX-Request": "true"}
    first = auth_client.post(path, {"choice": choices[0]}, headers=htmx).content.decode()
    assert referrals.referral_url(auth_client.user) in first
    changed = auth_client.post(path, {"choice": choices[1]}, headers=htmx).content.decode()
    assert "Your vote is changed." in changed
    assert referrals.referral_url(auth_client.user) not in changed


def test_the_data_export_lists_referrals_without_the_friends_addresses(auth_client):
    friend = SubscriptionFactory(user=UserFactory(email="private.friend@example.com")).user
    Referral.objects.create(referrer=auth_client.user, referred=friend)
    response = auth_client.get(reverse("accounts:data-export"))
    data = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"private.friend@example.com" not in data
    assert referrals.referral_url(auth_client.user).encode() in data
