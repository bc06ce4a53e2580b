"""Look-alike addresses and lying names (issue 18), on every surface that takes them.

Addresses: each trick in payloads.LOOKALIKE_ADDRESSES is refused with a message saying why on
subscribe, login by code, the email page (adding an address), the password reset form, the
admin's reader forms and the subscriber import, with a real account beside it: no second
account, no email to any mailbox. (There is no API yet; when one takes an address it joins
this list.) Names: each of payloads.LYING_NAMES and EDITOR_LOOKALIKES is refused on the account
page and by the model, so the admin and any later form get the same rule.
"""

from http import HTTPStatus

import pytest
from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts import addresses, names
from accounts.models import Subscription, User
from tests.conftest import code_from_mail
from tests.factories import EditorFactory, SubscriptionFactory, UserFactory
from tests.security.payloads import (
    EDITOR_LOOKALIKES,
    EDITOR_NAME,
    LOOKALIKE_ADDRESSES,
    LOOKALIKE_VICTIM,
    LYING_NAMES,
    SAME_AS_VICTIM,
)

pytestmark = pytest.mark.django_db

TRICKS = list(LOOKALIKE_ADDRESSES.values())
TRICK_IDS = list(LOOKALIKE_ADDRESSES)


@pytest.fixture
def victim(db):
    """The real owner whose address the tricks imitate: a subscriber with a verified email."""
    return SubscriptionFactory(user__email=LOOKALIKE_VICTIM).user


def form_errors(response, field="email") -> str:
    form = response.context["form"]
    return " ".join(form.errors.get(field, []))


def assert_nothing_happened(mailoutbox, accounts: int, addresses_: int | None = None):
    assert mailoutbox == [], [message.to for message in mailoutbox]
    assert User.objects.count() == accounts
    if addresses_ is not None:
        assert EmailAddress.objects.count() == addresses_


# --- The rule itself ---


@pytest.mark.parametrize(("trick", "word"), TRICKS, ids=TRICK_IDS)
def test_the_rule_refuses_each_trick_saying_why(trick, word):
    reason = addresses.problem(trick)
    assert reason is not None and word in reason, reason
    with pytest.raises(ValidationError):
        addresses.clean(trick)


@pytest.mark.parametrize(
    "address",
    [
        "emilia@example.com",
        "first.last+news@sub.example.co.uk",
        "o'hara@example.ie",
        "reader@münchen.de",
        "reader@пример.рф",
        "reader@例え.jp",
        "\u212aate@example.com",  # the Kelvin sign: the same text as "K" (NFC), so "kate@"
    ],
)
def test_the_rule_keeps_real_addresses(address):
    assert addresses.problem(address) is None
    assert addresses.clean(address) == addresses.normalize(address)


# --- Subscribing ---


@pytest.mark.parametrize(("trick", "word"), TRICKS, ids=TRICK_IDS)
def test_subscribe_refuses_each_trick(client, victim, mailoutbox, trick, word):
    response = client.post(reverse("accounts:subscribe"), {"email": trick})
    assert response.status_code == HTTPStatus.OK
    assert word in form_errors(response)
    assert_nothing_happened(mailoutbox, accounts=1, addresses_=1)


@pytest.mark.parametrize("same", SAME_AS_VICTIM)
def test_subscribe_treats_another_spelling_as_the_same_account(client, victim, mailoutbox, same):
    response = client.post(reverse("accounts:subscribe"), {"email": same})
    assert response.status_code == HTTPStatus.FOUND
    assert User.objects.count() == 1
    (message,) = mailoutbox
    assert message.to == [LOOKALIKE_VICTIM]
    client.post(response["Location"], {"code": code_from_mail(message)})
    assert client.get("/").context["user"] == victim


def test_subscribe_still_welcomes_an_internationalised_domain(client, mailoutbox):
    response = client.post(reverse("accounts:subscribe"), {"email": "Reader@München.de"})
    assert response.status_code == HTTPStatus.FOUND
    assert User.objects.get().email == "reader@münchen.de"
    assert [message.to for message in mailoutbox] == [["reader@münchen.de"]]


# --- Logging in by code, adding an address, resetting a password ---


@pytest.mark.parametrize(("trick", "word"), TRICKS, ids=TRICK_IDS)
def test_login_by_code_refuses_each_trick(client, victim, mailoutbox, trick, word):
    response = client.post(reverse("account_request_login_code"), {"email": trick})
    assert response.status_code == HTTPStatus.OK
    assert word in form_errors(response)
    assert_nothing_happened(mailoutbox, accounts=1)


@pytest.mark.parametrize(("trick", "word"), TRICKS, ids=TRICK_IDS)
def test_password_reset_refuses_each_trick(client, victim, mailoutbox, trick, word):
    """The reset form mails "no account here" to unknown addresses, which IDNA delivered to the
    real owner for some tricks."""
    response = client.post(reverse("account_reset_password"), {"email": trick})
    assert response.status_code == HTTPStatus.OK
    assert word in form_errors(response)
    assert_nothing_happened(mailoutbox, accounts=1)


@pytest.mark.parametrize(("trick", "word"), TRICKS, ids=TRICK_IDS)
def test_the_email_page_refuses_each_trick(client, victim, mailoutbox, trick, word):
    """allauth's email page, where a logged-in reader adds (and so changes) an address."""
    reader = UserFactory()
    client.force_login(reader)
    assert client.get(reverse("account_email")).status_code == HTTPStatus.OK
    response = client.post(reverse("account_email"), {"email": trick, "action_add": ""})
    assert response.status_code == HTTPStatus.OK
    assert word in form_errors(response)
    assert_nothing_happened(mailoutbox, accounts=2, addresses_=2)


@pytest.mark.parametrize(("trick", "word"), TRICKS, ids=TRICK_IDS)
def test_admin_reader_forms_refuse_each_trick(client, victim, trick, word):
    admin = EditorFactory()
    client.force_login(admin)
    response = client.post(
        reverse("admin:accounts_user_add"), {"email": trick, "usable_password": "false"}
    )
    assert response.status_code == HTTPStatus.OK
    assert word in " ".join(response.context["adminform"].form.errors.get("email", []))
    assert User.objects.count() == 2
    # The change form, and any other path through full_clean(), uses the same model validator.
    victim.email = trick
    with pytest.raises(ValidationError) as refused:
        victim.full_clean()
    assert "email" in refused.value.message_dict


def _import(data: bytes):
    """Upload data as a list of addresses through the imports app, dry run and run included
    (tasks run at once in the tests)."""
    from django.test.testcases import TestCase

    from imports.services import create_import, start_import

    with TestCase.captureOnCommitCallbacks(execute=True):
        job = create_import(
            kind="csv",
            data=data,
            filename="list.csv",
            newsletter=None,
            old_site_url="",
            created_by=None,
        )
    with TestCase.captureOnCommitCallbacks(execute=True):
        start_import(job=job)
    job.refresh_from_db()
    return job


def test_the_import_reports_each_trick_with_its_reason_and_imports_the_rest(victim, mailoutbox):
    rows = ["email", *(trick for trick, _ in TRICKS), *SAME_AS_VICTIM, "new.reader@example.com"]
    data = "\n".join(f'"{row}"' for row in rows).encode()
    job = _import(data)
    refused = {row["where"]: row["message"] for row in job.report if row["action"] == "problem"}
    # One row per trick (the header is row 1; a quoted line break stays in its row), each
    # with the rule's reason.
    assert set(refused) == {f"line {n}" for n in range(2, 2 + len(TRICKS))}, refused
    for index, (trick, word) in enumerate(TRICKS):
        assert word in refused[f"line {index + 2}"], (trick, refused[f"line {index + 2}"])
    assert job.counts["subscriber"]["create"] == 1
    assert job.counts["subscriber"]["update"] == 1  # the victim, already subscribed
    assert job.counts["subscriber"]["skip"] == len(SAME_AS_VICTIM) - 1  # the same address again
    assert set(User.objects.values_list("email", flat=True)) == {
        LOOKALIKE_VICTIM,
        "new.reader@example.com",
    }
    assert Subscription.objects.get(user=victim).status == "active"
    assert mailoutbox == []


def test_the_import_page_shows_the_reasons(client, victim):
    job = _import(b"emilia@localhost\n")
    client.force_login(EditorFactory())
    response = client.get(f"/admin/imports/import/{job.pk}/change/?show=problem")
    assert response.status_code == HTTPStatus.OK
    assert "full domain name" in response.content.decode()


@pytest.mark.parametrize(("trick", "word"), TRICKS, ids=TRICK_IDS)
def test_no_allauth_email_goes_to_a_refused_address(trick, word, mailoutbox):
    """The last guard: whatever asks allauth to mail a refused address, nothing is sent (an
    address stored before the rule existed, say)."""
    get_adapter().send_mail("account/email/login_code", trick, {"code": "ABC123"})
    assert mailoutbox == []


# --- Display names ---

NAME_TRICKS = list(LYING_NAMES.values())
NAME_IDS = list(LYING_NAMES)


@pytest.fixture
def editor_morgan(db):
    return EditorFactory(display_name=EDITOR_NAME)


def set_name(client, name):
    return client.post(reverse("accounts:account"), {"display_name": name})


@pytest.mark.parametrize(("name", "word"), NAME_TRICKS, ids=NAME_IDS)
def test_the_account_page_refuses_each_lying_name(auth_client, name, word):
    before = auth_client.user.display_name
    response = set_name(auth_client, name)
    assert response.status_code == HTTPStatus.OK
    assert word in " ".join(response.context["profile_form"].errors["display_name"])
    auth_client.user.refresh_from_db()
    assert auth_client.user.display_name == before


@pytest.mark.parametrize(("name", "word"), NAME_TRICKS, ids=NAME_IDS)
def test_the_model_refuses_each_lying_name(reader, name, word):
    """Every form that edits a reader (the admin's included) runs full_clean()."""
    reader.display_name = name
    with pytest.raises(ValidationError) as refused:
        reader.full_clean()
    assert word in " ".join(refused.value.message_dict["display_name"])


@pytest.mark.parametrize("name", list(EDITOR_LOOKALIKES.values()), ids=list(EDITOR_LOOKALIKES))
def test_a_reader_cannot_pass_for_an_editor(auth_client, editor_morgan, name):
    response = set_name(auth_client, name)
    assert response.status_code == HTTPStatus.OK
    assert response.context["profile_form"].errors["display_name"] == [
        "This name is too close to an editor's name."
    ]
    auth_client.user.refresh_from_db()
    assert auth_client.user.display_name != name


def test_an_editor_without_a_display_name_is_known_by_their_address(auth_client):
    EditorFactory(email="morgan.reyes@example.com", display_name="")
    response = set_name(auth_client, "Morgan Reyes")
    assert "too close to an editor" in str(response.context["profile_form"].errors)


def test_the_admin_form_refuses_an_editor_lookalike_for_a_reader(editor_morgan, reader):
    reader.display_name = EDITOR_LOOKALIKES["Cyrillic o"]
    with pytest.raises(ValidationError) as refused:
        reader.full_clean()
    assert refused.value.message_dict["display_name"] == [
        "This name is too close to an editor's name."
    ]


def test_the_editor_keeps_their_own_name_and_readers_keep_theirs(client, editor_morgan):
    editor_morgan.full_clean()  # their own name, and a staff member's to choose
    other_editor = EditorFactory(display_name="M\u043ergan Reyes")
    other_editor.full_clean()
    reader = UserFactory(display_name="Morgan Rees")
    reader.full_clean()
    EditorFactory(display_name="Dana Whit", is_active=False)
    reader.display_name = "Dana Whit"  # a former editor's name is free again
    reader.full_clean()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Ada Lovelace  ", "Ada Lovelace"),
        ("\u00a0Ada\u3000", "Ada"),
        ("Zoë Şahin", "Zoë Şahin"),
        ("Zoe\u0308", "Zoë"),  # composed (NFC)
        ("李小龙", "李小龙"),
        ("می\u200cخواهم", "می\u200cخواهم"),  # a Persian zero-width non-joiner, inside a word
        ("👩\u200d💻 Dev", "👩\u200d💻 Dev"),  # an emoji sequence
        ("Morgan Rees", "Morgan Rees"),
    ],
)
def test_real_names_are_trimmed_and_kept(auth_client, editor_morgan, typed, stored):
    response = set_name(auth_client, typed)
    assert response.status_code == HTTPStatus.FOUND, response.context["profile_form"].errors
    auth_client.user.refresh_from_db()
    assert auth_client.user.display_name == stored


def test_the_skeleton_reads_lookalikes_as_one():
    keys = {names.skeleton(name) for name in EDITOR_LOOKALIKES.values()}
    assert keys == {names.skeleton(EDITOR_NAME)}
    assert names.skeleton("Morgan Rees") != names.skeleton(EDITOR_NAME)


def test_a_second_browser_cannot_pass_for_the_editor_either(editor_morgan):
    """The check is the model's, so it holds for a reader who has not set a name before."""
    reader = SubscriptionFactory(user__display_name="").user
    browser = Client()
    browser.force_login(reader)
    response = set_name(browser, "MORGAN REYES")
    assert response.status_code == HTTPStatus.OK
    reader.refresh_from_db()
    assert reader.display_name == ""
