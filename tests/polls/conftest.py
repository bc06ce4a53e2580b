import pytest

from tests.factories import PollFactory


@pytest.fixture
def poll(db):
    """An open poll with three choices on a published post."""
    return PollFactory(question="How do you feel about the four-day week?")


def choice_ids(poll) -> list[int]:
    return list(poll.choices.order_by("position").values_list("pk", flat=True))
