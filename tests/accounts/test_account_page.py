from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.models import Subscription, User

pytestmark = pytest.mark.django_db

ACCOUNT = reverse("accounts:account")


def test_account_page_needs_login(client):
    response = client.get(ACCOUNT)
    assert response.status_code == HTTPStatus.FOUND
    assert "/accounts/login" in response.url


def test_reader_changes_display_name(auth_client):
    response = auth_client.post(ACCOUNT, {"display_name": "Ada M."})
    assert response.status_code == HTTPStatus.FOUND
    auth_client.user.refresh_from_db()
    assert auth_client.user.display_name == "Ada M."


def test_overlong_display_name_is_refused(auth_client):
    response = auth_client.post(ACCOUNT, {"display_name": "x" * 61})
    assert response.status_code == HTTPStatus.OK
    assert response.context["profile_form"].errors


def test_reader_turns_newsletter_off_and_on(auth_client):
    auth_client.post(ACCOUNT, {"newsletter": "1"})  # unchecked box: off
    subscription = Subscription.objects.get(user=auth_client.user)
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    assert subscription.unsubscribed_at is not None
    assert User.objects.filter(pk=auth_client.user.pk).exists()
    auth_client.post(ACCOUNT, {"newsletter": "1", "receive": "on"})
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE


def test_delete_needs_confirmation(auth_client):
    response = auth_client.post(reverse("accounts:delete"), {"confirm": "nope"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert User.objects.filter(pk=auth_client.user.pk).exists()


def test_delete_removes_the_account_and_logs_out(auth_client):
    pk = auth_client.user.pk
    response = auth_client.post(reverse("accounts:delete"), {"confirm": "DELETE"})
    assert response.status_code == HTTPStatus.FOUND
    assert not User.objects.filter(pk=pk).exists()
    assert not auth_client.get("/").context["user"].is_authenticated


def test_delete_is_post_only(auth_client):
    assert auth_client.get(reverse("accounts:delete")).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_logout_by_get_does_not_log_out(auth_client):
    auth_client.get(reverse("account_logout"))
    assert auth_client.get("/").context["user"].is_authenticated
    auth_client.post(reverse("account_logout"))
    assert not auth_client.get("/").context["user"].is_authenticated


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain
    assert "/accounts/login/" in response.redirect_chain[-1][0]


def test_editor_reaches_admin(editor_client):
    assert editor_client.get("/admin/").status_code == HTTPStatus.OK


def test_subscriber_is_kept_out_of_admin(auth_client):
    response = auth_client.get("/admin/")
    assert response.status_code in {HTTPStatus.FOUND, HTTPStatus.FORBIDDEN}
    if response.status_code == HTTPStatus.FOUND:
        assert "/admin/" not in response.url or "login" in response.url


@pytest.mark.parametrize("typed", ["delete", "Delete", "DELETe"])
def test_delete_takes_the_word_exactly_as_asked(auth_client, typed):
    response = auth_client.post(reverse("accounts:delete"), {"confirm": typed})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Type DELETE to confirm." in response.content.decode()
    assert User.objects.filter(pk=auth_client.user.pk).exists()


def test_name_field_starts_with_the_name_comments_show(client, user_factory):
    reader = user_factory(email="ada.lovelace@example.com", display_name="")
    client.force_login(reader)
    html = client.get(ACCOUNT).content.decode()
    assert 'value="ada.lovelace"' in html
    # The section's heading does not repeat the field's label.
    assert '<h2 id="profile-title">Profile</h2>' in html
    assert html.count(">Display name<") == 1
