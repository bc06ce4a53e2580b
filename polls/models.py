"""Reader polls inside posts: a Poll has ordered Choices; a reader has at most one Vote per poll."""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import connection, models
from django.db.models import Count, F, Prefetch, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posts.models import Post

MIN_CHOICES = 2
MAX_CHOICES = 10


def percentages(counts: list[int]) -> list[int]:
    """Return whole percentages for counts that add up to exactly 100 (or all 0 when no votes).

    Largest-remainder rounding: plain rounding can show 33 + 33 + 33 = 99, which readers notice.
    """
    total = sum(counts)
    if total == 0:
        return [0] * len(counts)
    exact = [count * 100 / total for count in counts]
    result = [int(value) for value in exact]
    by_remainder = sorted(range(len(counts)), key=lambda i: exact[i] - result[i], reverse=True)
    for i in by_remainder[: 100 - sum(result)]:
        result[i] += 1
    return result


@dataclass(frozen=True)
class ResultRow:
    choice_id: int
    position: int
    text: str
    votes: int
    percent: int


@dataclass(frozen=True)
class PollResults:
    rows: list[ResultRow]
    total: int

    @property
    def leader_ids(self) -> set[int]:
        """Ids of the choices with the most votes (none before the first vote)."""
        top = max((row.votes for row in self.rows), default=0)
        return {row.choice_id for row in self.rows if top and row.votes == top}


class PollQuerySet(models.QuerySet):
    def open(self, now=None):
        """Polls taking votes now: opened (or no opening time) and not yet closed."""
        now = now or timezone.now()
        return self.filter(
            Q(opens_at__isnull=True) | Q(opens_at__lte=now),
            Q(closes_at__isnull=True) | Q(closes_at__gt=now),
        )

    def with_results(self):
        """Prefetch each poll's choices with their vote counts: one aggregate query for all."""
        return self.prefetch_related(
            Prefetch("choices", queryset=Choice.objects.with_vote_counts())
        )


class Poll(models.Model):
    """A question with 2-10 ordered choices, shown inside a post."""

    class Placement(models.TextChoices):
        AFTER_BODY = "after_body", _("After the article, before the Daily Takeaway")
        END = "end", _("At the end of the post, after the Daily Takeaway")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Not open yet")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="polls", verbose_name=_("post")
    )
    question = models.CharField(
        _("question"), max_length=300, help_text=_("E.g. “How do you feel about …?”")
    )
    opens_at = models.DateTimeField(
        _("opens"),
        null=True,
        blank=True,
        help_text=_("Leave empty to open the poll with the post."),
    )
    closes_at = models.DateTimeField(
        _("closes"),
        null=True,
        blank=True,
        help_text=_("Leave empty to keep it open. Closed polls show final results to everyone."),
    )
    show_results_before_voting = models.BooleanField(
        _("show results before voting"),
        default=False,
        help_text=_("Otherwise readers see the results once they have voted or the poll closed."),
    )
    allow_vote_change = models.BooleanField(
        _("readers may change their vote"),
        default=True,
        help_text=_("Until the poll closes."),
    )
    placement = models.CharField(
        _("placement"), max_length=20, choices=Placement, default=Placement.AFTER_BODY
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = PollQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("poll")
        verbose_name_plural = _("polls")
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(closes_at__gt=F("opens_at")),
                name="polls_poll_closes_after_opening",
                violation_error_message=_("The poll must close after it opens."),
            ),
        ]

    def __str__(self):
        return self.question

    def get_absolute_url(self):
        return f"{self.post.get_absolute_url()}#{self.anchor}"

    @property
    def anchor(self) -> str:
        """The id of the poll's element on the post page (the link target after login)."""
        return f"poll-{self.pk}"

    def get_admin_results_url(self):
        return reverse("admin:polls_poll_results", args=[self.pk])

    def status(self, now=None) -> "Poll.Status":
        """Return whether the poll is scheduled, open or closed at now."""
        now = now or timezone.now()
        if self.opens_at and now < self.opens_at:
            return self.Status.SCHEDULED
        if self.closes_at and now >= self.closes_at:
            return self.Status.CLOSED
        return self.Status.OPEN

    def is_open(self, now=None) -> bool:
        """Return True if the poll takes votes now."""
        return self.status(now) == self.Status.OPEN

    def results(self) -> PollResults:
        """Return counts and percentages per choice, from one aggregate query (or the prefetch
        made by PollQuerySet.with_results)."""
        choices = None
        if "choices" in getattr(self, "_prefetched_objects_cache", {}):
            choices = list(self.choices.all())
            if not all(hasattr(choice, "vote_count") for choice in choices):
                choices = None  # prefetched without counts (e.g. for an email)
        if choices is None:
            choices = list(self.choices.with_vote_counts())
        counts = [choice.vote_count for choice in choices]
        rows = [
            ResultRow(choice.pk, choice.position, choice.text, count, percent)
            for choice, count, percent in zip(choices, counts, percentages(counts), strict=True)
        ]
        return PollResults(rows=rows, total=sum(counts))

    def votes_per_day(self) -> list[tuple[date, int]]:
        """Return (day, first votes cast that day) from the first to the last day with a vote,
        days without votes included, in the site's time zone."""
        counted = dict(
            self.votes.annotate(day=TruncDate("created_at"))
            .values("day")
            .annotate(n=Count("id"))
            .values_list("day", "n")
        )
        if not counted:
            return []
        first, last = min(counted), max(counted)
        days = []
        day = first
        while day <= last:
            days.append((day, counted.get(day, 0)))
            day += timezone.timedelta(days=1)
        return days


class ChoiceQuerySet(models.QuerySet):
    def with_vote_counts(self):
        """Choices in order, each annotated with vote_count (read from the tally the database
        keeps, so it costs the same at 20 votes and at 20,000)."""
        return self.annotate(vote_count=F("tally")).order_by("position", "id")


class Choice(models.Model):
    """One answer to a poll, in the editor's order."""

    poll = models.ForeignKey(
        Poll, on_delete=models.CASCADE, related_name="choices", verbose_name=_("poll")
    )
    text = models.CharField(_("text"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    # Kept by PostgreSQL triggers on the votes table (migration 0003), in the same transaction
    # as every insert, change and delete of a vote, whatever writes it; never set it in Python.
    tally = models.PositiveIntegerField(_("votes"), default=0, editable=False)

    objects = ChoiceQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        constraints = [
            # Deferred, so reordering choices can swap positions inside one transaction.
            models.UniqueConstraint(
                fields=["poll", "position"],
                name="polls_choice_unique_position",
                deferrable=models.Deferrable.DEFERRED,
            ),
        ]

    def __str__(self):
        return self.text


# One round trip, one transaction (statements sent together run in one when none is open;
# Django binds parameters on the client by default, which lets one execute() carry several):
# the vote is inserted or moved, then read back with the poll's tallies, which the tally
# trigger has moved on by then. `created` is PostgreSQL's mark of a row this statement inserted
# (xmax stays 0) rather than updated. When the reader's vote exists and stays (the same choice,
# or changes not allowed), the upsert writes nothing, fires no version bump and returns no row.
CAST_VOTE_SQL = """
INSERT INTO polls_vote AS v (poll_id, choice_id, user_id, created_at, updated_at)
VALUES (%(poll)s, %(choice)s, %(user)s, %(now)s, %(now)s)
ON CONFLICT ON CONSTRAINT polls_vote_one_per_reader DO UPDATE
    SET choice_id = EXCLUDED.choice_id, updated_at = EXCLUDED.updated_at
    WHERE %(may_change)s AND v.choice_id <> EXCLUDED.choice_id
RETURNING (v.xmax = 0) AS created;
SELECT v.id, v.choice_id FROM polls_vote v WHERE v.poll_id = %(poll)s AND v.user_id = %(user)s;
SELECT c.id, c.text, c.position, c.tally FROM polls_choice c WHERE c.poll_id = %(poll)s
ORDER BY c.position, c.id;
"""


@dataclass(frozen=True)
class CastVote:
    """What one cast of a vote did: written (created or moved) or not, the reader's vote as it
    is now, and the poll's choices in order with their tallies right after it (vote_count)."""

    written: bool
    created: bool
    vote_id: int
    choice_id: int
    choices: list


class VoteQuerySet(models.QuerySet):
    def cast(self, *, poll_id: int, choice_id: int, user_id: int, may_change: bool) -> CastVote:
        """Record user_id's vote for choice_id, or move it there when may_change; return what
        happened and the choices with the tallies that include it, in one round trip.

        Raises IntegrityError when choice_id is not a choice of poll_id (the database's
        composite foreign key decides)."""
        params = {
            "poll": poll_id,
            "choice": choice_id,
            "user": user_id,
            "now": timezone.now(),
            "may_change": may_change,
        }
        with connection.cursor() as cursor:
            cursor.execute(CAST_VOTE_SQL, params)
            written = cursor.fetchone()
            cursor.nextset()
            vote_id, current_choice = cursor.fetchone()
            cursor.nextset()
            choices = []
            for pk, text, position, tally in cursor.fetchall():
                choice = Choice(pk=pk, poll_id=poll_id, text=text, position=position, tally=tally)
                choice.vote_count = tally  # as Choice.objects.with_vote_counts() gives it
                choices.append(choice)
        return CastVote(
            written=written is not None,
            created=bool(written and written[0]),
            vote_id=vote_id,
            choice_id=current_choice,
            choices=choices,
        )


class Vote(models.Model):
    """A reader's vote. One per reader per poll, enforced by the database."""

    # The unique (poll, user) index starts with poll, so a separate poll index would be waste.
    poll = models.ForeignKey(
        Poll,
        on_delete=models.CASCADE,
        related_name="votes",
        verbose_name=_("poll"),
        db_index=False,
    )
    choice = models.ForeignKey(
        Choice, on_delete=models.CASCADE, related_name="votes", verbose_name=_("choice")
    )
    # SET_NULL: a deleted reader's vote stays, anonymously, so published results do not change.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="poll_votes",
        verbose_name=_("reader"),
    )
    created_at = models.DateTimeField(_("voted"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)

    objects = VoteQuerySet.as_manager()

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [
            # NULL users (deleted accounts) are distinct in PostgreSQL, so any number may remain.
            models.UniqueConstraint(fields=["poll", "user"], name="polls_vote_one_per_reader"),
        ]

    def __str__(self):
        return f"{self.user or _('deleted reader')}: {self.choice_id} in poll {self.poll_id}"
