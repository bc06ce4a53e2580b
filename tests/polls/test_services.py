"""Casting votes, editing choices and the newsletter's vote links, against the real database."""

from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone

from polls.models import Poll, Vote
from polls.services import (
    EMAIL_VOTE_SALT,
    VoteError,
    VoteOutcome,
    cast_email_vote,
    cast_vote,
    poll_for_email,
    read_vote_token,
    set_poll_choices,
    vote_url,
)
from posts.models import Post
from tests.factories import PollFactory, PostFactory, UserFactory, VoteFactory
from tests.polls.conftest import choice_ids

pytestmark = pytest.mark.django_db


class TestCastVote:
    def test_first_vote_is_recorded(self, poll, reader):
        first, *_ = choice_ids(poll)
        result = cast_vote(poll=poll, choice_id=first, user=reader)
        assert result.outcome is VoteOutcome.CREATED
        assert Vote.objects.get(poll=poll, user=reader).choice_id == first

    def test_voting_again_for_the_same_choice_changes_nothing(self, poll, reader):
        first, *_ = choice_ids(poll)
        cast_vote(poll=poll, choice_id=first, user=reader)
        result = cast_vote(poll=poll, choice_id=first, user=reader)
        assert result.outcome is VoteOutcome.UNCHANGED
        assert Vote.objects.filter(poll=poll).count() == 1

    def test_a_reader_may_change_their_vote_when_allowed(self, poll, reader):
        first, second, _ = choice_ids(poll)
        cast_vote(poll=poll, choice_id=first, user=reader)
        result = cast_vote(poll=poll, choice_id=second, user=reader)
        assert result.outcome is VoteOutcome.CHANGED
        vote = Vote.objects.get(poll=poll, user=reader)
        assert vote.choice_id == second and vote.updated_at > vote.created_at

    def test_changing_is_refused_when_the_editor_said_no(self, reader):
        poll = PollFactory(allow_vote_change=False)
        first, second, _ = choice_ids(poll)
        cast_vote(poll=poll, choice_id=first, user=reader)
        with pytest.raises(VoteError) as error:
            cast_vote(poll=poll, choice_id=second, user=reader)
        assert error.value.status == 409 and "cannot be changed" in str(error.value.message)
        assert Vote.objects.get(poll=poll, user=reader).choice_id == first

    @pytest.mark.parametrize(
        ("times", "message"),
        [
            ({"closes_at": timezone.now() - timedelta(minutes=1)}, "closed"),
            ({"opens_at": timezone.now() + timedelta(hours=1)}, "not open yet"),
        ],
    )
    def test_closed_and_not_yet_open_polls_take_no_votes(self, reader, times, message):
        poll = PollFactory(**times)
        with pytest.raises(VoteError) as error:
            cast_vote(poll=poll, choice_id=choice_ids(poll)[0], user=reader)
        assert message in str(error.value.message) and error.value.status == 403
        assert not Vote.objects.exists()

    def test_a_draft_posts_poll_takes_no_votes(self, reader):
        poll = PollFactory(post=PostFactory(status=Post.Status.DRAFT, published_at=None))
        with pytest.raises(VoteError):
            cast_vote(poll=poll, choice_id=choice_ids(poll)[0], user=reader)
        assert not Vote.objects.exists()

    def test_a_choice_from_another_poll_is_refused(self, poll, reader):
        other = PollFactory()
        with pytest.raises(VoteError) as error:
            cast_vote(poll=poll, choice_id=choice_ids(other)[0], user=reader)
        assert error.value.status == 400
        assert not Vote.objects.exists()

    def test_an_inactive_account_cannot_vote(self, poll):
        reader = UserFactory(is_active=False)
        with pytest.raises(VoteError):
            cast_vote(poll=poll, choice_id=choice_ids(poll)[0], user=reader)
        assert not Vote.objects.exists()


class TestSetPollChoices:
    def test_creates_choices_in_order(self):
        poll = PollFactory(choices=[])
        set_poll_choices(poll=poll, texts=["Yes", "No", "Maybe"])
        assert list(poll.choices.values_list("text", "position")) == [
            ("Yes", 0),
            ("No", 1),
            ("Maybe", 2),
        ]

    def test_reordering_and_fixing_a_typo_keep_the_votes(self):
        poll = PollFactory(choices=["Yes", "Noo", "Maybe"])
        yes, noo, maybe = poll.choices.order_by("position")
        VoteFactory(poll=poll, choice=noo)
        VoteFactory(poll=poll, choice=yes)

        set_poll_choices(poll=poll, texts=["Maybe", "No", "Yes"])

        assert [(c.pk, c.text) for c in poll.choices.order_by("position")] == [
            (maybe.pk, "Maybe"),
            (noo.pk, "No"),
            (yes.pk, "Yes"),
        ]
        assert {row.text: row.votes for row in poll.results().rows} == {
            "Maybe": 0,
            "No": 1,
            "Yes": 1,
        }

    def test_removing_an_unvoted_choice_deletes_it(self):
        poll = PollFactory(choices=["A", "B", "C"])
        set_poll_choices(poll=poll, texts=["A", "C"])
        assert list(poll.choices.values_list("text", flat=True)) == ["A", "C"]

    def test_a_choice_with_votes_cannot_be_removed(self):
        poll = PollFactory(choices=["A", "B", "C"])
        VoteFactory(poll=poll, choice=poll.choices.get(text="C"))
        with pytest.raises(ValidationError, match="cannot be removed"):
            set_poll_choices(poll=poll, texts=["A", "B"])
        assert poll.choices.count() == 3 and Vote.objects.count() == 1

    @pytest.mark.parametrize(
        ("texts", "message"),
        [
            (["Only one"], "at least 2"),
            ([f"Choice {n}" for n in range(11)], "at most 10"),
            (["Same", "same"], "listed twice"),
            (["A", "x" * 201], "under 200"),
        ],
    )
    def test_invalid_choice_lists_are_refused(self, texts, message):
        poll = PollFactory(choices=["A", "B"])
        with pytest.raises(ValidationError, match=message):
            set_poll_choices(poll=poll, texts=texts)
        assert list(poll.choices.values_list("text", flat=True)) == ["A", "B"]


class TestNewsletterContract:
    def test_poll_for_email_is_the_first_open_poll(self):
        post = PostFactory()
        PollFactory(post=post, closes_at=timezone.now() - timedelta(days=1))
        first_open = PollFactory(post=post)
        PollFactory(post=post)
        assert poll_for_email(post=post) == first_open
        assert poll_for_email(post=PostFactory()) is None

    def test_poll_for_email_comes_with_its_choices_in_order(self, django_assert_num_queries):
        poll = PollFactory(choices=["B first", "A second"])
        VoteFactory(poll=poll, choice=poll.choices.get(text="A second"))
        with django_assert_num_queries(2):
            found = poll_for_email(post=poll.post)
            texts = [choice.text for choice in found.choices.all()]
        assert texts == ["B first", "A second"]
        assert found.results().total == 1

    def test_vote_url_is_absolute_and_says_reader_poll_and_choice(self, settings, poll, reader):
        settings.SITE_URL = "https://futureforward.example"
        choice = choice_ids(poll)[1]
        url = vote_url(poll_id=poll.pk, choice_id=choice, user_id=reader.pk)
        assert url.startswith("https://futureforward.example/polls/email/")
        token = url.rsplit("/", 2)[-2]
        email_vote = read_vote_token(token)
        assert (email_vote.poll_id, email_vote.choice_id, email_vote.user_id) == (
            poll.pk,
            choice,
            reader.pk,
        )

    def test_vote_url_needs_no_database(self, django_assert_num_queries):
        with django_assert_num_queries(0):
            urls = {
                vote_url(poll_id=1, choice_id=c, user_id=u) for c in range(5) for u in range(200)
            }
        assert len(urls) == 1000

    def test_an_altered_token_is_refused(self, poll, reader):
        first, second, _ = choice_ids(poll)
        token = vote_url(poll_id=poll.pk, choice_id=first, user_id=reader.pk).rsplit("/", 2)[-2]
        altered = token.replace(f"-{first}-", f"-{second}-", 1)
        assert altered != token
        with pytest.raises(VoteError) as error:
            read_vote_token(altered)
        assert error.value.status == 400 and "not valid" in str(error.value.message)

    def test_a_token_signed_for_something_else_is_refused(self, poll, reader):
        token = signing.TimestampSigner(salt="another.purpose").sign(f"{poll.pk}-1-{reader.pk}")
        with pytest.raises(VoteError):
            read_vote_token(token)

    def test_an_expired_token_says_so_and_still_names_the_poll(self, settings, poll, reader):
        token = vote_url(poll_id=poll.pk, choice_id=1, user_id=reader.pk).rsplit("/", 2)[-2]
        settings.POLLS_EMAIL_VOTE_MAX_AGE = -1
        with pytest.raises(VoteError) as error:
            read_vote_token(token)
        assert error.value.status == 410 and "expired" in str(error.value.message)
        assert error.value.poll_id == poll.pk

    def test_cast_email_vote_records_for_the_links_reader(self, poll, reader):
        choice = choice_ids(poll)[2]
        token = signing.TimestampSigner(salt=EMAIL_VOTE_SALT).sign(
            f"{poll.pk}-{choice}-{reader.pk}"
        )
        returned_poll, result = cast_email_vote(token=token)
        assert returned_poll == poll and result.outcome is VoteOutcome.CREATED
        assert Vote.objects.get(poll=poll, user=reader).choice_id == choice

    def test_cast_email_vote_for_a_deleted_account_records_nothing(self, poll):
        reader = UserFactory()
        url = vote_url(poll_id=poll.pk, choice_id=choice_ids(poll)[0], user_id=reader.pk)
        reader.delete()
        with pytest.raises(VoteError):
            cast_email_vote(token=url.rsplit("/", 2)[-2])
        assert not Vote.objects.exists()

    def test_cast_email_vote_for_a_deleted_poll_records_nothing(self, reader):
        poll = PollFactory()
        url = vote_url(poll_id=poll.pk, choice_id=choice_ids(poll)[0], user_id=reader.pk)
        Poll.objects.filter(pk=poll.pk).delete()
        with pytest.raises(VoteError) as error:
            cast_email_vote(token=url.rsplit("/", 2)[-2])
        assert error.value.status == 404
