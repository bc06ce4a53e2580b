"""Demo readers and the demo editor for `manage.py seed_demo`."""

from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import Subscription, User

EDITOR_EMAIL = "editor@futureforward.example"
EDITOR_PASSWORD = "futureforward-demo"  # noqa: S105 (demo only; printed by seed_demo)

READERS = [
    ("ada@readers.example", "Ada Mensah"),
    ("bruno@readers.example", "Bruno Keller"),
    ("chen@readers.example", "Chen Wei"),
    ("dana@readers.example", "Dana Ortiz"),
    ("emeka@readers.example", "Emeka Obi"),
    ("farah@readers.example", "Farah Haddad"),
]


def _verified(user: User) -> None:
    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"primary": True, "verified": True}
    )


def seed() -> User:
    """Return the demo editor, creating it on the first run."""
    editor = User.objects.filter(email=EDITOR_EMAIL).first()
    if editor is None:
        editor = User.objects.create_superuser(
            email=EDITOR_EMAIL,
            password=EDITOR_PASSWORD,
            display_name="Morgan Reyes",
            bio="Editor of Future Forward. Writes about technology, work and the cities we share.",
        )
    _verified(editor)
    return editor


def seed_readers() -> list[User]:
    """Return a handful of verified, subscribed demo readers."""
    readers = []
    for email, name in READERS:
        reader = User.objects.filter(email=email).first()
        if reader is None:
            reader = User.objects.create_user(email=email, display_name=name)
        _verified(reader)
        Subscription.objects.get_or_create(
            user=reader,
            defaults={
                "status": Subscription.Status.ACTIVE,
                "source": "demo",
                "confirmed_at": timezone.now(),
            },
        )
        readers.append(reader)
    return readers
