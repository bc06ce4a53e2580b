from http import HTTPStatus
from types import SimpleNamespace

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from accounts.models import Subscription, User
from tests.conftest import code_from_mail

pytestmark = pytest.mark.django_db

SUBSCRIBE = reverse("accounts:subscribe")
CONFIRM = reverse("account_confirm_login_code")


def subscribe(client, email, **extra):
    return client.post(SUBSCRIBE, {"email": email, "source": "test", **extra})


def test_subscribe_page_renders(client):
    response = client.get(SUBSCRIBE)
    assert response.status_code == HTTPStatus.OK
    assert b"Send my code" in response.content


def test_new_reader_subscribes_and_confirms_with_the_code(client, mailoutbox):
    response = subscribe(client, "New.Reader@Example.com", next="/p/some-post/")
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(CONFIRM)

    user = User.objects.get(email="new.reader@example.com")
    assert not user.has_usable_password()
    assert user.subscription.status == Subscription.Status.PENDING
    assert user.subscription.source == "test"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new.reader@example.com"]

    response = client.post(response.url, {"code": code_from_mail(mailoutbox[0])})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/p/some-post/"
    user.subscription.refresh_from_db()
    assert user.subscription.status == Subscription.Status.ACTIVE
    assert user.subscription.confirmed_at is not None
    assert EmailAddress.objects.get(user=user).verified
    assert client.get("/").context["user"] == user


@pytest.mark.parametrize("email", ["", "not-an-email", "a@b", "x" * 300 + "@example.com"])
def test_invalid_email_is_refused_with_a_message(client, mailoutbox, email):
    response = subscribe(client, email)
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["email"]
    assert User.objects.count() == 0
    assert mailoutbox == []


def test_second_subscribe_in_another_case_reuses_the_account(client, mailoutbox):
    subscribe(client, "ada@example.com")
    client.cookies.clear()
    response = subscribe(client, "ADA@Example.com")
    assert response.status_code == HTTPStatus.FOUND
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1
    assert len(mailoutbox) == 2
    client.post(response.url, {"code": code_from_mail(mailoutbox[1])})
    assert client.get("/").context["user"].email == "ada@example.com"


def test_known_and_unknown_emails_get_the_same_answer(client, subscriber):
    known = subscribe(client, subscriber.email)
    client.cookies.clear()
    unknown = subscribe(client, "someone-new@example.com")
    assert known.status_code == unknown.status_code == HTTPStatus.FOUND
    assert known.url == unknown.url


def test_unsubscribed_reader_who_subscribes_again_is_pending_until_confirmed(client, subscriber):
    subscriber.subscription.status = Subscription.Status.UNSUBSCRIBED
    subscriber.subscription.save()
    subscribe(client, subscriber.email)
    subscriber.subscription.refresh_from_db()
    assert subscriber.subscription.status == Subscription.Status.PENDING


def test_bounced_address_is_not_reactivated_by_a_form(client, subscriber):
    subscriber.subscription.status = Subscription.Status.BOUNCED
    subscriber.subscription.save()
    subscribe(client, subscriber.email)
    subscriber.subscription.refresh_from_db()
    assert subscriber.subscription.status == Subscription.Status.BOUNCED


def test_wrong_code_says_so_and_attempts_are_limited(client, mailoutbox):
    response = subscribe(client, "ada@example.com")
    confirm_url = response.url
    response = client.post(confirm_url, {"code": "WRONG1"})
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors
    client.post(confirm_url, {"code": "WRONG2"})
    response = client.post(confirm_url, {"code": "WRONG3"})
    # Out of attempts: the code is void and the reader starts again.
    assert response.status_code == HTTPStatus.FOUND
    response = client.post(confirm_url, {"code": code_from_mail(mailoutbox[0])})
    assert response.status_code == HTTPStatus.FOUND
    assert not client.get("/").context["user"].is_authenticated


@pytest.mark.parametrize(
    "unsafe", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_unsafe_next_is_ignored(client, mailoutbox, unsafe):
    response = subscribe(client, "ada@example.com", next=unsafe)
    response = client.post(response.url, {"code": code_from_mail(mailoutbox[0])})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/"


def test_subscribe_is_rate_limited_per_address(client, mailoutbox):
    for _ in range(3):
        subscribe(client, "ada@example.com")
    response = subscribe(client, "ada@example.com")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many attempts" in response.content.decode()
    assert len(mailoutbox) == 3


def test_logged_in_reader_subscribes_in_one_click(client, reader):
    client.force_login(reader)
    response = client.post(SUBSCRIBE, {"source": "post-footer"})
    assert response.status_code == HTTPStatus.FOUND
    assert Subscription.objects.get(user=reader).status == Subscription.Status.ACTIVE


def test_login_code_works_for_a_known_subscriber(client, subscriber, mailoutbox):
    response = client.post(reverse("account_request_login_code"), {"email": subscriber.email})
    assert response.status_code == HTTPStatus.FOUND
    client.post(CONFIRM, {"code": code_from_mail(mailoutbox[0])})
    assert client.get("/").context["user"] == subscriber


def test_a_new_address_replaces_a_mistyped_one(client, mailoutbox):
    subscribe(client, "ada@exmaple.com")
    response = subscribe(client, "ada@example.com")
    assert response.url.startswith(CONFIRM)
    assert mailoutbox[-1].to == ["ada@example.com"]
    client.post(response.url, {"code": code_from_mail(mailoutbox[-1])})
    assert client.get("/").context["user"].email == "ada@example.com"


# --- The deferred path: the account and the email are a task's work, after the answer. ---


@pytest.fixture
def queued_tasks(settings):
    """Tasks go to the database queue, with no worker running until the test runs one."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def run_worker():
    from django.core.management import call_command

    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_the_code_page_waits_for_the_task_and_then_logs_the_reader_in(
    client, queued_tasks, mailoutbox, settings
):
    from django_tasks_db.models import DBTaskResult

    settings.ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True  # off on the site; tried here

    response = subscribe(client, "late@example.com", next="/archive/")
    assert response.status_code == HTTPStatus.FOUND
    assert not User.objects.filter(email="late@example.com").exists()
    (queued,) = DBTaskResult.objects.all()
    assert queued.task_path == "accounts.tasks.subscribe_and_send_code"

    # Before the task ran: the page is there, a wrong code is wrong, and asking for another
    # code does not void the one on its way.
    page = client.get(response.url)
    assert page.status_code == HTTPStatus.OK and b"late@example.com" in page.content
    assert client.post(response.url, {"code": "WRONG1"}).context["form"].errors
    resend = client.post(response.url, {"action": "resend"}, follow=True)
    assert "on its way" in resend.content.decode()
    assert mailoutbox == []

    run_worker()
    (message,) = mailoutbox
    assert message.to == ["late@example.com"]
    response = client.post(response.url, {"code": code_from_mail(message)})
    assert response.status_code == HTTPStatus.FOUND and response.url == "/archive/"
    assert client.get("/").context["user"].email == "late@example.com"
    assert Subscription.objects.get(user__email="late@example.com").status == "active"


@pytest.mark.django_db(transaction=True)
def test_a_right_code_before_the_account_exists_starts_over_instead_of_failing(
    client, queued_tasks
):
    from django_tasks_db.models import DBTaskResult

    response = subscribe(client, "early@example.com")
    code = DBTaskResult.objects.get().args_kwargs["kwargs"]["code"]
    response = client.post(response.url, {"code": code})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == SUBSCRIBE
    assert not client.get("/").context["user"].is_authenticated
    # The pending login is gone: the code page sends the visitor back to ask again.
    assert client.get(CONFIRM).status_code == HTTPStatus.FOUND


def test_a_known_address_is_emailed_by_the_same_task(client, subscriber, mailoutbox):
    """Known and new addresses take one path; a known one gets no second account."""
    response = subscribe(client, subscriber.email.upper())
    assert response.status_code == HTTPStatus.FOUND
    assert User.objects.count() == 1
    (message,) = mailoutbox
    assert message.to == [subscriber.email]
    assert "Your Future Forward code" in message.subject
    client.post(response.url, {"code": code_from_mail(message)})
    assert client.get("/").context["user"] == subscriber


def test_the_task_waits_for_a_database_that_is_away_for_a_moment(monkeypatch):
    """A subscribe task runs after the reader was told the code is on its way: a PostgreSQL
    restart under it is waited for (tests/production/test_scale_out.py restarts one for real)."""
    from django.db import OperationalError

    from accounts import services

    monkeypatch.setattr(services.time, "sleep", lambda seconds: None)
    # A task's work runs outside a transaction; this test itself runs inside the test's one.
    closed = []
    monkeypatch.setattr(
        services,
        "connection",
        SimpleNamespace(in_atomic_block=False, close=lambda: closed.append(True)),
    )
    failures = iter([OperationalError("server closed the connection"), OperationalError("down")])

    def work():
        failure = next(failures, None)
        if failure:
            raise failure
        return "done"

    assert services.until_the_database_answers(work) == "done"
    assert closed == [True, True]  # a fresh connection for each new try

    def never():
        raise OperationalError("down for good")

    monkeypatch.setattr(services.time, "monotonic", iter(range(0, 1000, 10)).__next__)
    with pytest.raises(OperationalError):
        services.until_the_database_answers(never, seconds=30)
