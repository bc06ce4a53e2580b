"""The preference centre: a signed link in every email opens, without logging in, a page to
choose newsletters, change the display name or unsubscribe from everything; logged-in readers
find the same choice on their account page."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.models import Subscription
from newsletter import audience
from newsletter.links import manage_token, manage_url
from newsletter.models import Membership, Newsletter
from tests.factories import EditorFactory, PostFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def weekly():
    return Newsletter.objects.default()


@pytest.fixture
def digest():
    return Newsletter.objects.create(name="Climate digest", slug="climate", is_default=False)


def lists_of(user) -> set[str]:
    return set(
        Membership.objects.filter(user=user, status=Membership.Status.SUBSCRIBED).values_list(
            "newsletter__slug", flat=True
        )
    )


def test_every_email_carries_the_readers_own_manage_link(
    mailoutbox, weekly, django_capture_on_commit_callbacks
):
    from newsletter import services
    from newsletter.models import NewsletterSend

    ada = SubscriptionFactory().user
    with django_capture_on_commit_callbacks(execute=True):
        services.create_send(
            post=PostFactory(), created_by=None, mode=NewsletterSend.Mode.FULL, teaser_words=150
        )
    (message,) = mailoutbox
    assert manage_url(ada.pk) in message.body
    assert manage_url(ada.pk) in message.alternatives[0][0]


def test_the_page_opens_without_login_and_saves_lists_and_name(client, weekly, digest):
    reader = SubscriptionFactory().user
    url = reverse("newsletter:manage", args=[manage_token(reader.pk)])
    page = client.get(url)
    assert page.status_code == HTTPStatus.OK
    text = page.content.decode()
    assert reader.email in text and "Climate digest" in text
    assert f'value="{weekly.pk}" id="list-{weekly.pk}" checked' in text

    response = client.post(url, {"lists": [digest.pk], "display_name": "Ada L."})
    assert response.status_code == HTTPStatus.FOUND
    reader.refresh_from_db()
    assert lists_of(reader) == {"climate"}
    assert reader.display_name == "Ada L."
    assert "Your choices are saved." in client.get(url).content.decode()


def test_a_bad_name_is_refused_and_nothing_changes(client, weekly, digest):
    EditorFactory(display_name="The Editor")
    reader = SubscriptionFactory(user__display_name="Reader").user
    url = reverse("newsletter:manage", args=[manage_token(reader.pk)])
    response = client.post(url, {"lists": [digest.pk], "display_name": "The Editor"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "too close to an editor" in response.content.decode()
    reader.refresh_from_db()
    assert reader.display_name == "Reader"
    assert lists_of(reader) == {weekly.slug}


def test_unsubscribe_from_everything_keeps_the_account_and_lists(client, weekly, digest):
    reader = SubscriptionFactory().user
    audience.join(user=reader, newsletters=[digest])
    token = manage_token(reader.pk)
    response = client.post(reverse("newsletter:unsubscribe-everything", args=[token]))
    assert response.status_code == HTTPStatus.FOUND
    assert Subscription.objects.get(user=reader).status == Subscription.Status.UNSUBSCRIBED
    assert audience.recipient_count(newsletter=digest) == 0
    page = client.get(reverse("newsletter:manage", args=[token])).content.decode()
    assert "You are unsubscribed from everything" in page
    assert "Resubscribe" in page


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token.replace(token.split(":")[0], "1", 1),
        lambda token: "",
        lambda token: "x" * 500,
        lambda token: token.split(":")[0],
    ],
)
def test_a_forged_or_altered_link_gets_a_clear_page_and_changes_nothing(
    client, weekly, digest, mangle
):
    reader = SubscriptionFactory(user__display_name="Before").user
    bad = mangle(manage_token(reader.pk)) or "-"
    url = f"/newsletter/manage/{bad}/"
    for response in (
        client.get(url),
        client.post(url, {"lists": [digest.pk], "display_name": "After"}),
        client.post(f"{url}everything/"),
    ):
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "This link is not valid" in response.content.decode()
    reader.refresh_from_db()
    assert reader.display_name == "Before"
    assert lists_of(reader) == {weekly.slug}
    assert reader.subscription.status == Subscription.Status.ACTIVE


def test_a_token_of_another_purpose_is_refused(client, weekly):
    from accounts.services import unsubscribe_token

    reader = SubscriptionFactory().user
    response = client.get(f"/newsletter/manage/{unsubscribe_token(reader.pk)}/")
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_the_account_page_offers_the_same_choice(auth_client, weekly, digest):
    page = auth_client.get(reverse("accounts:account")).content.decode()
    assert "Climate digest" in page
    response = auth_client.post(
        reverse("newsletter:account-lists"), {"lists": [weekly.pk, digest.pk]}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert lists_of(auth_client.user) == {weekly.slug, "climate"}
    auth_client.post(reverse("newsletter:account-lists"), {"lists": [digest.pk]})
    assert lists_of(auth_client.user) == {"climate"}


def test_the_account_choice_needs_a_login(client, weekly):
    response = client.post(reverse("newsletter:account-lists"), {"lists": [weekly.pk]})
    assert response.status_code == HTTPStatus.FOUND
    assert "/login" in response.url


def test_the_data_export_carries_newsletters_tags_and_the_note(weekly, digest):
    from accounts.personal_data import reader_data
    from newsletter.models import SubscriberNote, SubscriberTag

    reader = SubscriptionFactory().user
    audience.join(user=reader, newsletters=[digest])
    audience.leave(user=reader, newsletter=digest)
    SubscriberTag.objects.create(name="VIP").readers.add(reader)
    SubscriberNote.objects.create(user=reader, text="Wrote in about trams.")
    data = reader_data(user=reader)["newsletters"]
    assert {(m["newsletter"], m["status"]) for m in data["memberships"]} == {
        (weekly.name, "subscribed"),
        ("Climate digest", "unsubscribed"),
    }
    assert data["tags"] == ["VIP"] and data["editors_note"] == "Wrote in about trams."


def test_the_reader_pages_are_valid_html(client, weekly, digest):
    from newsletter.links import leave_token
    from tests.test_valid_html import problems

    reader = SubscriptionFactory().user
    for path in (
        reverse("newsletter:manage", args=[manage_token(reader.pk)]),
        reverse("newsletter:leave", args=[leave_token(reader.pk, digest.pk)]),
        "/newsletter/manage/forged/",
    ):
        response = client.get(path)
        assert problems(response.content.decode()) == [], path


def test_a_newsletter_readers_may_not_choose_cannot_be_joined_by_editing_the_form(client, weekly):
    staff_only = Newsletter.objects.create(
        name="Staff notes", slug="staff", is_choosable=False, is_default=False
    )
    reader = SubscriptionFactory().user
    url = reverse("newsletter:manage", args=[manage_token(reader.pk)])
    assert "Staff notes" not in client.get(url).content.decode()
    response = client.post(url, {"lists": [weekly.pk, staff_only.pk], "display_name": ""})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not staff_only.memberships.exists()
    response = client.post(url, {"lists": ["not-a-number"], "display_name": ""})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert lists_of(reader) == {weekly.slug}
