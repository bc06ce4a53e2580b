import pytest
from django.db import IntegrityError, transaction

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_email_is_stored_lower_case_and_trimmed():
    user = User.objects.create_user(email="  Ada@Example.COM ")
    assert user.email == "ada@example.com"
    assert User.objects.get_by_natural_key("ADA@example.com") == user


def test_readers_have_no_usable_password():
    user = User.objects.create_user(email="reader@example.com")
    assert not user.has_usable_password()


def test_same_email_in_another_case_is_refused_by_the_database():
    User.objects.create_user(email="ada@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        # Bypass save()'s normalisation: the database constraint alone must catch it.
        User.objects.bulk_create([User(email="ADA@example.com", password="!")])


def test_public_name_falls_back_to_the_email_local_part():
    user = User.objects.create_user(email="chen.wei@example.com")
    assert user.public_name == "chen.wei"
    user.display_name = "Chen"
    assert user.public_name == "Chen"
