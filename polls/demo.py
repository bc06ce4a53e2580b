"""Demo polls for `manage.py seed_demo`: one near the end of each demo post, with reader votes."""

from datetime import timedelta

from polls.models import Choice, Poll, Vote

POLLS = {
    "four-day-week-after-the-pilots": (
        "How do you feel about a four-day week in your own job?",
        [
            "I'd take it tomorrow",
            "Only if pay stays the same",
            "It wouldn't work for my role",
            "I prefer five shorter days",
        ],
    ),
    "heat-pumps-and-the-grid": (
        "How do you feel about switching your home to a heat pump?",
        ["Already have one", "Planning to", "Too expensive for now", "Not convinced"],
    ),
    "small-models-big-jobs": (
        "How do you feel about AI that runs only on your own device?",
        ["I'd trust it more", "Cloud is fine for me", "I avoid AI tools"],
    ),
    "the-fifteen-minute-city-debate": (
        "How do you feel about the fifteen-minute city?",
        ["Great idea", "Good in theory", "Worried about prices", "Not for me"],
    ),
}

# Each demo reader's pick, by choice index, so the results have a shape worth looking at.
PICKS = [0, 1, 0, 2, 0, 1, 3, 0]


def seed(*, posts, readers) -> list[Poll]:
    """Create the demo polls and votes that do not exist yet; return the polls."""
    polls = []
    for post in posts:
        spec = POLLS.get(post.slug)
        if spec is None:
            continue
        question, texts = spec
        poll, created = Poll.objects.get_or_create(
            post=post,
            question=question,
            defaults={"show_results_before_voting": False, "allow_vote_change": True},
        )
        if created:
            Choice.objects.bulk_create(
                Choice(poll=poll, text=text, position=position)
                for position, text in enumerate(texts)
            )
        choices = list(poll.choices.order_by("position"))
        start = post.published_at or poll.created_at
        for index, reader in enumerate(readers):
            choice = choices[PICKS[index % len(PICKS)] % len(choices)]
            # Spread over the first days after publishing, for the votes-over-time chart.
            when = start + timedelta(hours=5 + index * 7)
            Vote.objects.get_or_create(
                poll=poll,
                user=reader,
                defaults={"choice": choice, "created_at": when, "updated_at": when},
            )
        polls.append(poll)
    return polls
