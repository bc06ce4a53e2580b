import pytest

from comments.models import Commenter, CommentSettings
from tests.factories import PostFactory, SubscriptionFactory


@pytest.fixture
def post(db):
    return PostFactory()


@pytest.fixture
def trusted(subscriber):
    """The subscriber, already trusted, so their comments are not held as first comments."""
    Commenter.objects.create(user=subscriber, is_trusted=True)
    return subscriber


@pytest.fixture
def other(db):
    """A second trusted subscriber."""
    user = SubscriptionFactory().user
    Commenter.objects.create(user=user, is_trusted=True)
    return user


@pytest.fixture
def comment_settings(db):
    return CommentSettings.load()
