"""Several newsletters: readers choose them when subscribing and later, a send goes to one
newsletter, and the one-click unsubscribe of an email leaves that newsletter only."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Subscription
from accounts.services import confirm_subscription, subscribe_reader
from newsletter import audience, services
from newsletter.links import leave_token
from newsletter.models import Membership, Newsletter, NewsletterSend
from tests.conftest import code_from_mail
from tests.factories import PostFactory, SubscriptionFactory, make_subscribers

pytestmark = pytest.mark.django_db


@pytest.fixture
def weekly():
    return Newsletter.objects.default()


@pytest.fixture
def digest():
    return Newsletter.objects.create(
        name="Climate digest", slug="climate", is_default=False, description="Monthly."
    )


def lists_of(user) -> set[str]:
    return set(
        Membership.objects.filter(user=user, status=Membership.Status.SUBSCRIBED).values_list(
            "newsletter__slug", flat=True
        )
    )


def send_to(newsletter, segment=None):
    return services.create_send(
        post=PostFactory(),
        created_by=None,
        mode=NewsletterSend.Mode.FULL,
        teaser_words=150,
        newsletter=newsletter,
        segment=segment,
    )


def test_a_new_subscription_joins_the_default_newsletters_only(weekly, digest):
    reader = SubscriptionFactory().user
    assert lists_of(reader) == {weekly.slug}


def test_subscribing_with_a_choice_gets_exactly_the_ticked_newsletters(weekly, digest):
    reader = subscribe_reader(email="two@example.com", lists=[weekly.slug, digest.slug])
    assert lists_of(reader) == {weekly.slug, digest.slug}
    other = subscribe_reader(email="one@example.com", lists=[digest.slug])
    assert lists_of(other) == {digest.slug}


def test_unknown_or_unchoosable_slugs_are_ignored(weekly, digest):
    secret = Newsletter.objects.create(
        name="Staff", slug="staff", is_choosable=False, is_default=False
    )
    reader = subscribe_reader(email="x@example.com", lists=["staff", "nope", digest.slug])
    assert lists_of(reader) == {digest.slug}
    assert secret.memberships.count() == 0


def test_subscribing_twice_adds_nothing_twice_and_never_brings_back_a_left_list(weekly, digest):
    reader = subscribe_reader(email="twice@example.com", lists=[weekly.slug, digest.slug])
    audience.leave(user=reader, newsletter=digest)
    subscribe_reader(email="twice@example.com", lists=[weekly.slug, digest.slug])
    assert Membership.objects.filter(user=reader).count() == 2
    assert lists_of(reader) == {weekly.slug}


def test_subscribe_page_offers_choosable_newsletters_with_defaults_ticked(client, weekly, digest):
    Newsletter.objects.create(name="Hidden list", slug="hidden", is_choosable=False)
    page = client.get(reverse("accounts:subscribe")).content.decode()
    assert 'value="climate"' in page and "Climate digest" in page
    assert "Hidden list" not in page
    assert f'value="{weekly.slug}" id="subscribe-list-{weekly.slug}" checked' in page
    assert 'value="climate" id="subscribe-list-climate">' in page


def test_subscribe_form_with_nothing_ticked_is_refused(client, weekly, digest):
    response = client.post(
        reverse("accounts:subscribe"), {"email": "none@example.com", "lists_shown": "1"}
    )
    assert response.status_code == HTTPStatus.OK
    assert "Choose at least one newsletter." in response.content.decode()
    assert not Subscription.objects.filter(user__email="none@example.com").exists()


def test_subscribe_form_carries_the_choice_to_the_new_subscription(client, weekly, digest):
    response = client.post(
        reverse("accounts:subscribe"),
        {"email": "picky@example.com", "lists_shown": "1", "lists": ["climate"]},
    )
    assert response.status_code == HTTPStatus.FOUND
    reader = Subscription.objects.get(user__email="picky@example.com").user
    assert lists_of(reader) == {"climate"}


def test_the_footer_box_without_a_choice_gives_the_defaults(client, weekly, digest):
    client.post(reverse("accounts:subscribe"), {"email": "box@example.com", "source": "footer"})
    reader = Subscription.objects.get(user__email="box@example.com").user
    assert lists_of(reader) == {weekly.slug}


def test_a_send_goes_to_one_newsletter_only(
    weekly, digest, mailoutbox, django_capture_on_commit_callbacks
):
    weekly_only = make_subscribers(3, prefix="w")
    both = make_subscribers(2, prefix="b")
    for reader in both:
        audience.join(user=reader, newsletters=[digest])
    left = make_subscribers(1, prefix="gone")[0]
    audience.join(user=left, newsletters=[digest])
    audience.leave(user=left, newsletter=digest)
    assert audience.recipient_count(newsletter=digest) == 2
    assert audience.recipient_count(newsletter=weekly) == 6
    with django_capture_on_commit_callbacks(execute=True):
        send = send_to(digest)
    assert send.recipients_count == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted(r.email for r in both)
    assert not {m.to[0] for m in mailoutbox} & {r.email for r in weekly_only}


def test_unsubscribed_from_everything_gets_no_newsletter(weekly, digest):
    reader = SubscriptionFactory(status=Subscription.Status.UNSUBSCRIBED).user
    audience.join(user=reader, newsletters=[digest])
    assert audience.recipient_count(newsletter=digest) == 0
    assert audience.recipient_count(newsletter=weekly) == 0


def test_the_email_link_leaves_that_newsletter_and_keeps_the_other(
    client, weekly, digest, mailoutbox, django_capture_on_commit_callbacks
):
    reader = SubscriptionFactory().user
    audience.join(user=reader, newsletters=[digest])
    with django_capture_on_commit_callbacks(execute=True):
        send_to(digest)
    (message,) = mailoutbox
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert url == f"http://testserver/newsletter/leave/{leave_token(reader.pk, digest.pk)}/"
    assert "Manage your subscription" in message.alternatives[0][0]
    # Opening the link changes nothing (mail scanners follow links).
    page = client.get(url)
    assert "Unsubscribe from Climate digest?" in page.content.decode()
    assert lists_of(reader) == {weekly.slug, "climate"}
    # The mail provider's one-click POST, without cookies or CSRF token.
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.OK
    assert lists_of(reader) == {weekly.slug}
    assert Subscription.objects.get(user=reader).status == Subscription.Status.ACTIVE
    # The page offers unsubscribing from everything.
    page = client.post(url).content.decode()
    assert "You left Climate digest" in page
    assert "Unsubscribe from everything" in page


def test_a_forged_leave_link_changes_nothing(client, weekly, digest):
    reader = SubscriptionFactory().user
    token = leave_token(reader.pk, weekly.pk)
    forged = token.replace(f"{reader.pk}.{weekly.pk}", f"{reader.pk}.{digest.pk}")
    for bad in (forged, token[:-2] + "xx", "garbage"):
        response = client.post(f"/newsletter/leave/{bad}/", {"List-Unsubscribe": "One-Click"})
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "This link is not valid" in response.content.decode()
    assert lists_of(reader) == {weekly.slug}


def test_reader_leaving_during_a_send_is_skipped(weekly, digest):
    from newsletter.delivery import _claim

    readers = make_subscribers(3)
    send = send_to(weekly)
    audience.leave(user=readers[0], newsletter=weekly)
    claimed = _claim(send, "worker-1")
    assert {row.user_id for row in claimed} == {readers[1].pk, readers[2].pk}
    skipped = send.deliveries.get(user=readers[0])
    assert skipped.status == "skipped"


def test_move_members_keeps_dates_and_status(weekly, digest):
    stayer, leaver = make_subscribers(2)
    audience.leave(user=leaver, newsletter=weekly)
    joined = Membership.objects.get(user=stayer, newsletter=weekly).created_at
    moved = audience.move_members(source=weekly, target=digest)
    assert moved == 2
    assert Membership.objects.get(user=stayer, newsletter=digest).created_at == joined
    assert Membership.objects.get(user=leaver, newsletter=digest).status == "unsubscribed"
    assert not weekly.memberships.exists()


def test_admin_refuses_to_delete_a_newsletter_with_subscribers_until_moved(
    editor_client, weekly, digest
):
    make_subscribers(2)
    url = reverse("admin:newsletter_newsletter_delete", args=[weekly.pk])
    response = editor_client.post(url, {"post": "yes"}, follow=True)
    assert "has 2 subscribers" in response.content.decode()
    assert Newsletter.objects.filter(pk=weekly.pk).exists()

    changelist = reverse("admin:newsletter_newsletter_changelist")
    page = editor_client.post(
        changelist, {"action": "move_members", "_selected_action": [weekly.pk]}
    )
    assert "Move subscribers to another newsletter" in page.content.decode()
    editor_client.post(
        changelist,
        {
            "action": "move_members",
            "_selected_action": [weekly.pk],
            "apply": "1",
            "target": digest.pk,
        },
    )
    assert digest.memberships.count() == 2
    editor_client.post(url, {"post": "yes"})
    assert not Newsletter.objects.filter(pk=weekly.pk).exists()


def test_send_page_names_the_newsletter_segment_and_count(editor_client, weekly, digest):
    make_subscribers(4)
    reader = make_subscribers(1, prefix="d")[0]
    audience.join(user=reader, newsletters=[digest])
    post = PostFactory()
    url = reverse("admin:posts_post_newsletter_send", args=[post.pk])
    page = editor_client.get(url).content.decode()
    assert "Send to 5 subscribers" in page
    page = editor_client.get(url, {"newsletter": digest.pk}).content.decode()
    assert "Climate digest" in page and "Send to 1 subscribers" in page
    page = editor_client.post(url, {"newsletter": digest.pk, "_recount": "1"}).content.decode()
    assert "Send to 1 subscribers" in page
    assert not NewsletterSend.objects.exists()


def test_the_newsletters_sender_name_is_in_the_from_line(
    digest, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.DEFAULT_FROM_EMAIL = "Future Forward <news@futureforward.example>"
    digest.sender_name = "The Climate Desk"
    digest.save()
    reader = SubscriptionFactory().user
    audience.join(user=reader, newsletters=[digest])
    with django_capture_on_commit_callbacks(execute=True):
        send_to(digest)
    (message,) = mailoutbox
    assert message.from_email == "The Climate Desk <news@futureforward.example>"
    assert "You receive Climate digest because" in message.body


def test_the_newsletter_list_shows_subscriber_counts(editor_client, weekly, digest):
    make_subscribers(3)
    page = editor_client.get(reverse("admin:newsletter_newsletter_changelist")).content.decode()
    assert "Climate digest" in page
    assert '<td class="field-subscribed">3</td>' in page


def test_an_archived_newsletter_is_neither_offered_nor_sent(client, weekly, digest):
    digest.is_archived = True
    digest.save()
    assert "Climate digest" not in client.get(reverse("accounts:subscribe")).content.decode()
    with pytest.raises(services.NewsletterError, match="archived"):
        send_to(digest)


def test_the_send_page_in_the_admin_names_newsletter_and_segment(editor_client, weekly, digest):
    from newsletter.models import Segment

    make_subscribers(2)
    segment = Segment.objects.create(name="Everyone here", conditions=[])
    send = send_to(weekly, segment)
    page = editor_client.get(
        reverse("admin:newsletter_newslettersend_change", args=[send.pk])
    ).content.decode()
    assert weekly.name in page and "Everyone here" in page
    listing = editor_client.get(reverse("admin:newsletter_newslettersend_changelist"))
    assert "Everyone here" in listing.content.decode()


def test_a_confirmed_readers_address_typed_on_the_form_adds_nothing_until_their_code(
    client, mailoutbox, weekly, digest
):
    """Anyone may type a reader's address on the public form: a confirmed reader starts getting
    another newsletter only once they type the code the form emailed them."""
    reader = subscribe_reader(email="known@example.com", lists=[weekly.slug])
    confirm_subscription(user=reader)
    assert lists_of(reader) == {weekly.slug}

    response = client.post(
        reverse("accounts:subscribe"),
        {"email": "known@example.com", "lists_shown": "1", "lists": [weekly.slug, digest.slug]},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert lists_of(reader) == {weekly.slug}  # not yet: whoever typed it proved nothing
    assert Membership.objects.get(user=reader, newsletter=digest).status == "pending"

    client.post(response.url, {"code": code_from_mail(mailoutbox[-1])})
    assert client.get("/").context["user"] == reader
    assert lists_of(reader) == {weekly.slug, digest.slug}


def test_a_code_never_typed_leaves_the_reader_as_they_were(client, mailoutbox, weekly, digest):
    reader = subscribe_reader(email="known@example.com", lists=[weekly.slug])
    confirm_subscription(user=reader)
    client.post(
        reverse("accounts:subscribe"),
        {"email": "known@example.com", "lists_shown": "1", "lists": [weekly.slug, digest.slug]},
    )
    # Someone else logs in with their own code: nothing of the first reader's changes.
    other = subscribe_reader(email="other@example.com", lists=[weekly.slug])
    confirm_subscription(user=other)
    client.cookies.clear()
    response = client.post(reverse("account_request_login_code"), {"email": "other@example.com"})
    client.post(response.url, {"code": code_from_mail(mailoutbox[-1])})
    assert lists_of(reader) == {weekly.slug}
    assert lists_of(other) == {weekly.slug}


def test_a_choice_left_waiting_is_not_carried_out_by_a_much_later_login(
    client, mailoutbox, weekly, digest
):
    reader = subscribe_reader(email="known@example.com", lists=[weekly.slug])
    confirm_subscription(user=reader)
    client.post(
        reverse("accounts:subscribe"),
        {"email": "known@example.com", "lists_shown": "1", "lists": [weekly.slug, digest.slug]},
    )
    Membership.objects.filter(user=reader, status="pending").update(
        created_at=timezone.now() - audience.PENDING_FOR - timedelta(minutes=1)
    )
    response = client.post(reverse("account_request_login_code"), {"email": "known@example.com"})
    client.post(response.url, {"code": code_from_mail(mailoutbox[-1])})
    assert client.get("/").context["user"] == reader
    assert lists_of(reader) == {weekly.slug}


def test_the_footer_box_with_a_confirmed_readers_address_changes_nothing(client, weekly, digest):
    digest.is_default = True
    digest.save()
    reader = subscribe_reader(email="known@example.com", lists=[weekly.slug])
    confirm_subscription(user=reader)
    client.post(reverse("accounts:subscribe"), {"email": "known@example.com", "source": "footer"})
    assert lists_of(reader) == {weekly.slug}
    assert not Membership.objects.filter(user=reader, newsletter=digest).exists()
