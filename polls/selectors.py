"""What a reader sees of a poll: the state of each poll panel on a post page, read in a fixed
number of queries whatever the number of polls, choices or votes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from polls.models import Poll, Vote
from polls.services import EmailVote, VoteError, read_vote_token
from posts import pagecache

EMAIL_VOTE_PARAM = "vote"
# Where the email vote view leaves a just-used token for the results panel (read once).
EMAIL_VOTE_SESSION_KEY = "polls:email_vote"
# The choice an anonymous reader tapped before logging in, carried through login in `next`.
PICK_PARAM = "pick"


class Mode(enum.StrEnum):
    VOTE = "vote"  # a participating reader picks a choice
    CONFIRM = "confirm"  # an email link's choice, waiting for the confirming POST
    RESULTS = "results"  # percentages, the reader's own choice marked
    GATE = "gate"  # "Login or Subscribe to participate in polls."
    WAITING = "waiting"  # not open yet, or the post is not published: choices only


@dataclass
class ChoiceRow:
    id: int
    text: str
    votes: int
    percent: int
    is_mine: bool = False
    is_checked: bool = False
    is_leader: bool = False


@dataclass
class PollPanel:
    poll: Poll
    mode: Mode
    choices: list[ChoiceRow]
    total: int
    show_results: bool
    my_choice_id: int | None = None
    can_change: bool = False
    message: str = ""
    message_level: str = "info"
    email_token: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> Poll.Status:
        return self.poll.status()

    @property
    def is_closed(self) -> bool:
        return self.status == Poll.Status.CLOSED

    @property
    def next_url(self) -> str:
        """Where login and subscribe links bring the reader back to: the post, at its top, so
        the "signed in" message is in view (no jump to the poll's anchor)."""
        return self.poll.post.get_absolute_url()

    @property
    def gate_links(self) -> list[tuple[ChoiceRow, str]]:
        """Each choice with the `next` that brings an anonymous reader back with it picked."""
        return [(row, f"{self.next_url}?{PICK_PARAM}={row.id}") for row in self.choices]

    @property
    def my_choice_text(self) -> str:
        return next((row.text for row in self.choices if row.is_mine), "")


def can_participate(user) -> bool:
    """Return True if user may vote (anonymous users have no can_participate)."""
    return bool(getattr(user, "can_participate", False))


def build_panel(
    *,
    poll: Poll,
    user,
    my_choice_id: int | None = None,
    email_vote: EmailVote | None = None,
    checked_choice_id: int | None = None,
    message: str = "",
    message_level: str = "info",
    errors: list[str] | None = None,
) -> PollPanel:
    """Return what user sees of poll. my_choice_id is their current vote (or the email link
    reader's); poll's choices should come with vote counts (PollQuerySet.with_results)."""
    results = poll.results()
    status = poll.status()
    published = poll.post.is_published()
    participating = can_participate(user)

    if email_vote is not None and published and status == Poll.Status.OPEN:
        if my_choice_id == email_vote.choice_id:
            mode = Mode.RESULTS
            if not message:
                message, message_level = _("Thanks, your vote is counted."), "success"
        elif my_choice_id is not None and not poll.allow_vote_change:
            mode = Mode.RESULTS
            if not message:
                message = _("You already voted in this poll, and votes cannot be changed.")
                message_level = "error"
        else:
            mode = Mode.CONFIRM
            checked_choice_id = email_vote.choice_id
    elif email_vote is not None and not message and status != Poll.Status.OPEN:
        mode = Mode.RESULTS if status == Poll.Status.CLOSED else Mode.WAITING
        message = (
            _("This poll is closed. The results are final.")
            if status == Poll.Status.CLOSED
            else _("This poll is not open yet.")
        )
    elif not published or status == Poll.Status.SCHEDULED:
        mode = Mode.WAITING
    elif status == Poll.Status.CLOSED:
        mode = Mode.RESULTS
    elif not participating:
        mode = Mode.GATE
    elif my_choice_id is not None and checked_choice_id is None:
        mode = Mode.RESULTS
    else:
        mode = Mode.VOTE

    show_results = mode == Mode.RESULTS or (
        poll.show_results_before_voting and mode in {Mode.VOTE, Mode.GATE}
    )
    leaders = results.leader_ids
    rows = [
        ChoiceRow(
            id=row.choice_id,
            text=row.text,
            votes=row.votes,
            percent=row.percent,
            is_mine=row.choice_id == my_choice_id,
            is_checked=row.choice_id == (checked_choice_id or my_choice_id),
            is_leader=row.choice_id in leaders,
        )
        for row in results.rows
    ]
    return PollPanel(
        poll=poll,
        mode=mode,
        choices=rows,
        total=results.total,
        show_results=show_results,
        my_choice_id=my_choice_id,
        can_change=(
            mode == Mode.RESULTS
            and participating
            and email_vote is None
            and my_choice_id is not None
            and poll.allow_vote_change
            and status == Poll.Status.OPEN
        ),
        message=message,
        message_level=message_level,
        email_token=email_vote.token if email_vote and mode == Mode.CONFIRM else "",
        errors=errors or [],
    )


def panels_for_post(*, post, request) -> list[PollPanel]:
    """Return the panels of post's polls for request's reader, in a fixed number of queries.

    A valid email vote link (?vote=<token>) for one of these polls shows that poll as its reader
    sees it, with the link's choice selected, without logging anyone in.
    """
    polls = list(Poll.objects.filter(post=post).with_results().order_by("id"))
    if not polls:
        return []
    for poll in polls:
        poll.post = post  # the caller's post: no query per poll for it
        # A page showing this poll changes by itself when it opens or closes.
        pagecache.changes_at(request, poll.opens_at)
        pagecache.changes_at(request, poll.closes_at)
    user = getattr(request, "user", None)
    my_votes = {}
    if user is not None and user.is_authenticated:
        my_votes = dict(
            Vote.objects.filter(poll__in=polls, user=user).values_list("poll_id", "choice_id")
        )

    email_vote, email_error = None, None
    token = request.GET.get(EMAIL_VOTE_PARAM, "") if request is not None else ""
    session = getattr(request, "session", None)
    if not token and session is not None and EMAIL_VOTE_SESSION_KEY in session:
        token = session.pop(EMAIL_VOTE_SESSION_KEY)
    if token:
        try:
            email_vote = read_vote_token(token)
        except VoteError as error:
            email_error = error
        else:
            if email_vote.poll_id not in {poll.pk for poll in polls}:
                email_vote = None
            elif user is None or email_vote.user_id != user.pk:
                # The link's reader, who may not be the one logged in (or anyone at all).
                my_votes[email_vote.poll_id] = (
                    Vote.objects.filter(poll_id=email_vote.poll_id, user_id=email_vote.user_id)
                    .values_list("choice_id", flat=True)
                    .first()
                )

    picked = request.GET.get(PICK_PARAM, "") if request is not None else ""
    picked_id = int(picked) if picked.isdigit() and len(picked) < 19 else None

    panels = []
    for index, poll in enumerate(polls):
        this_email_vote = email_vote if email_vote and email_vote.poll_id == poll.pk else None
        if (
            picked_id is not None
            and this_email_vote is None
            and poll.pk not in my_votes
            and can_participate(user)
            and any(choice.pk == picked_id for choice in poll.choices.all())
        ):
            # Back from login with the answer tapped before it: ready, one tap to count.
            panels.append(
                build_panel(
                    poll=poll,
                    user=user,
                    checked_choice_id=picked_id,
                    message=_("Your answer is ready. Press Vote to count it."),
                )
            )
            continue
        panel = build_panel(
            poll=poll,
            user=user,
            my_choice_id=my_votes.get(poll.pk),
            email_vote=this_email_vote,
            message=str(email_error.message) if email_error and index == 0 else "",
            message_level="error" if email_error else "info",
        )
        panels.append(panel)
    return panels
