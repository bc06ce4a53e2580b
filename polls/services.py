"""Poll workflows: casting a vote, editing choices, and the signed vote links in emails.

`poll_for_email` and `vote_url` are the contract the newsletter uses to put a post's poll in its
email; keep their names and keyword-only signatures.

Lock order (the one rule of comments/services.py, for polls): the reader's own vote row first,
then the poll's choices in id order (the tally trigger locks them, and so does an editor changing
the choices before writing anything), last the post's page version, which the triggers move on at
the end of each writing statement. A writer never takes a choice's lock after a statement of its
own has written (that statement already holds the page version).
"""

from __future__ import annotations

import enum
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from polls.models import MAX_CHOICES, MIN_CHOICES, Choice, Poll, Vote

EMAIL_VOTE_SALT = "polls.email-vote"
# Expiry of a vote link in an email, in seconds (the poll's own closing time applies too).
DEFAULT_EMAIL_VOTE_MAX_AGE = 60 * 60 * 24 * 30


class VoteError(Exception):
    """A vote that cannot be recorded. `message` is for the reader; `status` for the response."""

    def __init__(self, message, *, status: int = 400):
        super().__init__(str(message))
        self.message = message
        self.status = status


class VoteOutcome(enum.Enum):
    CREATED = "created"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class VoteResult:
    vote: Vote
    outcome: VoteOutcome
    # The poll's choices in order, each with its tally right after the vote (vote_count), read
    # in the same transaction.
    choices: list[Choice] = field(default_factory=list)


def check_poll_takes_votes(poll: Poll) -> None:
    """Raise VoteError unless poll's post is published and the poll is open now."""
    if not poll.post.is_published():
        raise VoteError(_("This poll is not published yet."), status=404)
    status = poll.status()
    if status == Poll.Status.SCHEDULED:
        raise VoteError(_("This poll is not open yet."), status=403)
    if status == Poll.Status.CLOSED:
        raise VoteError(_("This poll is closed. The results are final."), status=403)


def cast_vote(*, poll: Poll, choice_id: int, user) -> VoteResult:
    """Record user's vote for choice_id in poll, or change it if the poll allows; return it,
    with every choice's tally right after it (so the voter sees their vote counted).

    One round trip and one short transaction (Vote.objects.cast): the vote's row, the tallies
    and the page version are locked only while PostgreSQL runs it, never while Python works.
    Safe under concurrency: the unique (poll, user) constraint decides between simultaneous
    first votes from one reader, and the upsert's row lock serialises simultaneous changes.
    """
    if user is None or not user.is_active:
        raise VoteError(_("This account cannot vote."), status=403)
    check_poll_takes_votes(poll)
    try:
        # Inside a caller's transaction, a savepoint keeps it usable after a refused choice;
        # on its own, the statements already run as one transaction.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            cast = Vote.objects.cast(
                poll_id=poll.pk,
                choice_id=choice_id,
                user_id=user.pk,
                may_change=poll.allow_vote_change,
            )
    except IntegrityError:
        # Not one of this poll's choices (the composite foreign key), or removed meanwhile.
        raise VoteError(_("That choice is not part of this poll."), status=400) from None
    vote = Vote(pk=cast.vote_id, poll=poll, choice_id=cast.choice_id, user=user)
    if cast.written:
        outcome = VoteOutcome.CREATED if cast.created else VoteOutcome.CHANGED
        return VoteResult(vote, outcome, cast.choices)
    if cast.choice_id == choice_id:
        return VoteResult(vote, VoteOutcome.UNCHANGED, cast.choices)
    raise VoteError(_("You already voted in this poll, and votes cannot be changed."), status=409)


def clean_choice_lines(text: str) -> list[str]:
    """Return the non-empty, trimmed lines of text (the admin's one-choice-per-line field)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def validate_choice_texts(texts: list[str]) -> list[str]:
    """Return the problems with texts as poll choices (an empty list if they are fine)."""
    problems = []
    if len(texts) < MIN_CHOICES:
        problems.append(_("Give at least %(n)d choices, one per line.") % {"n": MIN_CHOICES})
    if len(texts) > MAX_CHOICES:
        problems.append(_("Give at most %(n)d choices.") % {"n": MAX_CHOICES})
    too_long = [text for text in texts if len(text) > Choice._meta.get_field("text").max_length]
    if too_long:
        problems.append(_("Keep each choice under 200 characters."))
    seen = set()
    for text in texts:
        if text.casefold() in seen:
            problems.append(_("“%(text)s” is listed twice.") % {"text": text})
        seen.add(text.casefold())
    return problems


def plan_choices(*, poll: Poll | None, texts: list[str]):
    """Return (keep, rename, create, delete) to turn poll's choices into texts, in order.

    Unchanged texts keep their choice (and its votes). Then the remaining old choices are
    paired in order with the remaining new lines, so fixing a typo keeps the votes too.
    """
    existing = list(poll.choices.order_by("position", "id")) if poll and poll.pk else []
    by_text = {choice.text: choice for choice in existing}
    kept = {}
    for index, text in enumerate(texts):
        if text in by_text and by_text[text].pk not in {c.pk for c in kept.values()}:
            kept[index] = by_text[text]
    spare = [choice for choice in existing if choice not in kept.values()]
    renamed, created = {}, []
    for index in range(len(texts)):
        if index in kept:
            continue
        if spare:
            renamed[index] = spare.pop(0)
        else:
            created.append(index)
    return kept, renamed, created, spare


@transaction.atomic
def set_poll_choices(*, poll: Poll, texts: list[str]) -> list[Choice]:
    """Make poll's choices exactly texts, in that order; return them.

    Raises ValidationError if texts are not valid choices or if that would delete a choice
    readers already voted for.
    """
    problems = validate_choice_texts(texts)
    if problems:
        raise ValidationError(problems)
    # Every choice of the poll, in id order, before the first write (the lock order above):
    # readers' votes lock the choices they count in id order and then the page version, which
    # this function's first save would take. (Deleting a choice needs a stronger lock than
    # this; a reader switching their vote to that very choice at that moment can still lose a
    # deadlock. Only choices nobody voted for are deleted, so that reader is the first.)
    list(
        Choice.objects.filter(poll=poll)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )
    kept, renamed, created, removed = plan_choices(poll=poll, texts=texts)
    voted = [choice.text for choice in removed if choice.votes.exists()]
    if voted:
        raise ValidationError(
            _("Readers voted for %(choices)s, so it cannot be removed.")
            % {"choices": ", ".join(f"“{t}”" for t in voted)}
        )
    for choice in removed:
        choice.delete()
    result = []
    for index, text in enumerate(texts):
        choice = kept.get(index) or renamed.get(index)
        if choice is None:
            choice = Choice.objects.create(poll=poll, text=text, position=index)
        elif choice.text != text or choice.position != index:
            choice.text, choice.position = text, index
            choice.save(update_fields=["text", "position"])
        result.append(choice)
    return result


# --- Voting from the email: the newsletter's contract. ---


def poll_for_email(*, post) -> Poll | None:
    """Return the poll to show in post's newsletter email (its first open poll), with its choices
    prefetched in order, or None."""
    return Poll.objects.open().filter(post=post).prefetch_related("choices").order_by("id").first()


@lru_cache(maxsize=8)
def _email_vote_prefix(site_url: str) -> str:
    # reverse() once per process instead of once per link: a send calls vote_url for every
    # choice of every subscriber.
    return site_url + reverse("polls:email-vote", kwargs={"token": "T"}).removesuffix("T/")


@lru_cache(maxsize=4)
def _vote_signer(secret_key: str) -> signing.TimestampSigner:
    # Keyed on the secret so a rotated key (or a test's) gets a fresh signer.
    return signing.TimestampSigner(key=secret_key, salt=EMAIL_VOTE_SALT)


def vote_url(*, poll_id: int, choice_id: int, user_id: int) -> str:
    """Return an absolute URL, signed for this reader, poll and choice, that opens the post at the
    poll with the choice selected (a GET records nothing; the page confirms by POST).

    No database access and a few microseconds per call: a send makes one per choice per reader.
    """
    token = _vote_signer(settings.SECRET_KEY).sign(
        f"{int(poll_id)}-{int(choice_id)}-{int(user_id)}"
    )
    return f"{_email_vote_prefix(settings.SITE_URL)}{token}/"


@dataclass(frozen=True)
class EmailVote:
    """What a valid email vote link says: this reader picked this choice in this poll."""

    token: str
    poll_id: int
    choice_id: int
    user_id: int


class EmailVoteError(VoteError):
    """A refused email vote link. `poll_id` is set when the link is genuine but expired."""

    def __init__(self, message, *, status: int = 400, poll_id: int | None = None):
        super().__init__(message, status=status)
        self.poll_id = poll_id


def email_vote_max_age() -> int:
    return int(getattr(settings, "POLLS_EMAIL_VOTE_MAX_AGE", DEFAULT_EMAIL_VOTE_MAX_AGE))


def read_vote_token(token: str) -> EmailVote:
    """Return what token says, or raise EmailVoteError saying why it is refused."""
    signer = signing.TimestampSigner(salt=EMAIL_VOTE_SALT)
    try:
        value = signer.unsign(token or "", max_age=email_vote_max_age())
    except signing.SignatureExpired:
        # Genuine but old: say so, and still point the reader to the poll.
        poll_id = signer.unsign(token).split("-")[0]
        raise EmailVoteError(
            _("This voting link has expired. You can still vote on the post page."),
            status=410,
            poll_id=int(poll_id) if poll_id.isdigit() else None,
        ) from None
    except signing.BadSignature:
        raise EmailVoteError(
            _(
                "This voting link is not valid: it may be incomplete or changed. Open the poll "
                "from the latest email, or vote on the post page."
            ),
            status=400,
        ) from None
    try:
        poll_id, choice_id, user_id = (int(part) for part in value.split("-"))
    except ValueError:
        # Signed by us but not in our format (another salt's value can never get here).
        raise EmailVoteError(_("This voting link is not valid."), status=400) from None
    return EmailVote(token=token, poll_id=poll_id, choice_id=choice_id, user_id=user_id)


@transaction.atomic
def cast_email_vote(*, token: str) -> tuple[Poll, VoteResult]:
    """Record the vote a signed email link stands for; return the poll and the result.

    The token identifies the reader: they need not be logged in, and this does not log them in.
    """
    email_vote = read_vote_token(token)
    poll = Poll.objects.select_related("post").filter(pk=email_vote.poll_id).first()
    if poll is None:
        raise EmailVoteError(_("This poll no longer exists."), status=404)
    user = get_user_model().objects.filter(pk=email_vote.user_id, is_active=True).first()
    if user is None:
        raise EmailVoteError(_("The account this link was sent to no longer exists."), status=403)
    return poll, cast_vote(poll=poll, choice_id=email_vote.choice_id, user=user)
