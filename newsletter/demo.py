"""Demo audience for `manage.py seed_demo`: a second newsletter a few demo readers chose, with
a welcome series of three emails, a subscriber tag, a segment of the readers who voted for the
first choice of the first poll, two referral milestones and a couple of counted referrals."""

from django.utils import timezone

from accounts.models import Referral
from newsletter import audience
from newsletter.models import Newsletter, ReferralMilestone, Segment, SubscriberTag, WelcomeStep

MILESTONES = [
    {
        "count": 3,
        "subject": "Three friends joined: thank you!",
        "body": "Three readers subscribed through your link. As a thank-you, reply to this email "
        "and we will send you our sticker set.",
    },
    {
        "count": 10,
        "subject": "Ten friends: you are one of our ambassadors",
        "body": "Ten readers came through your link. Reply to this email to get a signed print.",
    },
]

SECOND = {
    "slug": "climate-digest",
    "name": "Climate digest",
    "description": "One letter a month on energy, heat and the grid.",
    "is_default": False,
    "position": 1,
}

DIGEST_WELCOME = [
    {
        "subject": "Welcome to the climate digest",
        "body": "<p>Once a month you will get one letter on energy, heat and the grid: what "
        "changed, what it costs, and what is worth watching.</p>",
        "delay_hours": 0,
        "show_latest_post": True,
    },
    {
        "subject": "How we pick the month's stories",
        "body": "<p>Every story in the digest has a source you can check. We prefer measured "
        "numbers to forecasts, and we say so when we are not sure.</p>",
        "delay_hours": 48,
    },
    {
        "subject": "Tell us what you want to read",
        "body": "<p>Reply to any letter, or vote in the poll under each post: the questions "
        "readers ask most become next month's stories.</p>",
        "delay_hours": 24 * 7,
        "delay_from": WelcomeStep.DelayFrom.SIGNUP,
    },
]


def seed(*, readers, polls) -> Segment | None:
    """Create the demo newsletters, tag and segment that do not exist yet; return the segment."""
    weekly = Newsletter.objects.default()
    if weekly.description == "":
        weekly.description = "Every new post, by email."
        weekly.save(update_fields=["description"])
    digest, _ = Newsletter.objects.get_or_create(slug=SECOND["slug"], defaults=SECOND)
    audience.join(user=readers[0], newsletters=[digest], source="demo")
    for reader in readers[1::2]:
        audience.join(user=reader, newsletters=[digest], source="demo")
    # After the demo readers joined: the series is for readers who join from now on.
    if not digest.welcome_steps.exists():
        for position, step in enumerate(DIGEST_WELCOME):
            WelcomeStep.objects.create(newsletter=digest, position=position, **step)
    early, _ = SubscriberTag.objects.get_or_create(name="Early reader")
    early.readers.add(*readers[:3])
    seed_referrals(readers=readers)
    Segment.objects.get_or_create(
        name="Brought two friends or more",
        defaults={
            "description": "Readers with at least two counted referrals.",
            "conditions": [{"kind": "referrals", "count": 2}],
        },
    )
    if not polls:
        return None
    first = polls[0]
    choice = first.choices.order_by("position").first()
    segment, _ = Segment.objects.get_or_create(
        name=f"Voted “{choice.text}” in the first poll"[:100],
        defaults={
            "description": first.question[:300],
            "conditions": [{"kind": "poll_answer", "poll": first.pk, "choice": choice.pk}],
        },
    )
    return segment


def seed_referrals(*, readers) -> None:
    """Referral milestones, and the first demo reader credited with bringing the next two."""
    for milestone in MILESTONES:
        ReferralMilestone.objects.get_or_create(count=milestone["count"], defaults=milestone)
    if len(readers) < 3:
        return
    for friend in readers[1:3]:
        Referral.objects.get_or_create(
            referred=friend, defaults={"referrer": readers[0], "counted_at": timezone.now()}
        )
