"""Demo audience for `manage.py seed_demo`: a second newsletter a few demo readers chose, a
subscriber tag, and a segment of the readers who voted for the first choice of the first
poll."""

from newsletter import audience
from newsletter.models import Newsletter, Segment, SubscriberTag

SECOND = {
    "slug": "climate-digest",
    "name": "Climate digest",
    "description": "One letter a month on energy, heat and the grid.",
    "is_default": False,
    "position": 1,
}


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
    early, _ = SubscriberTag.objects.get_or_create(name="Early reader")
    early.readers.add(*readers[:3])
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
