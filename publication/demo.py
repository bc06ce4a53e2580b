"""The demo publication for `manage.py seed_demo`: the settings as migrated, plus two social
profiles so the footer shows them. Safe to run again: profiles are added only when none exist."""

from publication.models import Publication, SocialProfile

PROFILES = [
    (SocialProfile.Network.MASTODON, "https://mastodon.example/@futureforward"),
    (SocialProfile.Network.BLUESKY, "https://bsky.app/profile/futureforward.example"),
]


def seed() -> Publication:
    """Return the publication, with its demo social profiles."""
    publication = Publication.objects.current()
    if not publication.social_profiles.exists():
        for position, (network, url) in enumerate(PROFILES):
            publication.social_profiles.create(network=network, url=url, position=position)
    return Publication.objects.current()
