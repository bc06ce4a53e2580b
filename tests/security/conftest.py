"""Fixtures for the security tests: one of each kind of person the site knows."""

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from comments.models import Commenter
from tests.factories import SubscriptionFactory, UserFactory

# What an editor who is not a superuser may do in the admin: write and publish posts and polls,
# moderate the discussion, send the newsletter and see the subscriber list. Not: readers'
# accounts, groups, email addresses, authenticators or the task queue.
EDITOR_PERMISSIONS = [
    "posts.add_post",
    "posts.change_post",
    "posts.delete_post",
    "posts.view_post",
    "posts.add_tag",
    "posts.change_tag",
    "posts.view_tag",
    "polls.add_poll",
    "polls.change_poll",
    "polls.view_poll",
    "comments.change_comment",
    "comments.view_comment",
    "comments.view_commentreport",
    "comments.change_commentreport",
    "comments.view_commenter",
    "comments.change_commenter",
    "comments.view_commentsettings",
    "comments.change_commentsettings",
    "newsletter.add_newslettersend",
    "newsletter.change_newslettersend",
    "newsletter.view_newslettersend",
    "newsletter.view_delivery",
    "accounts.view_subscription",
]


def make_staff_editor(**kwargs):
    """A staff member with the editor permissions above and nothing else."""
    user = UserFactory(is_staff=True, password="editor-password-1", **kwargs)
    codenames = [name.split(".", 1) for name in EDITOR_PERMISSIONS]
    permissions = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in codenames
    ]
    user.user_permissions.set(permissions)
    return user


@pytest.fixture
def unverified(db):
    """Logged in, but never proved the email address."""
    return UserFactory(verified=False)


@pytest.fixture
def banned(db):
    """A subscriber the editors banned from commenting."""
    user = SubscriptionFactory().user
    Commenter.objects.create(user=user, is_banned=True, ban_reason="Spam", banned_at=timezone.now())
    return user


@pytest.fixture
def staff_editor(db):
    return make_staff_editor()


@pytest.fixture
def superuser(db):
    return UserFactory(is_staff=True, is_superuser=True, password="editor-password-1")
