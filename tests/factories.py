"""factory_boy factories for every model the tests build. One per model; apps append theirs."""

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import Subscription, User
from posts.models import Post, Tag


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"reader{n}@example.com")
    display_name = factory.Sequence(lambda n: f"Reader {n}")
    password = factory.django.Password(None)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        """Readers prove their address by default; pass verified=False for one who has not."""
        if create:
            EmailAddress.objects.create(
                user=obj, email=obj.email, primary=True, verified=extracted is not False
            )


def ensure_default_newsletter():
    """The default newsletter the migrations make; tests that flush the database lose it, and
    without it a new subscription joins no newsletter (the trigger of newsletter 0005)."""
    from django.db import connection

    from newsletter.models import Newsletter

    # The migration tests build rows on an older schema, before newsletters existed.
    if Newsletter._meta.db_table not in connection.introspection.table_names():
        return None
    return Newsletter.objects.default()


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        ensure_default_newsletter()
        return super()._create(model_class, *args, **kwargs)

    user = factory.SubFactory(UserFactory)
    status = Subscription.Status.ACTIVE
    source = "test"
    confirmed_at = factory.LazyFunction(timezone.now)


class EditorFactory(UserFactory):
    email = factory.Sequence(lambda n: f"editor{n}@example.com")
    is_staff = True
    is_superuser = True
    password = factory.django.Password("editor-password-1")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Tag {n}")
    slug = factory.Sequence(lambda n: f"tag-{n}")


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Post number {n}")
    slug = factory.Sequence(lambda n: f"post-{n}")
    subtitle = "A subtitle"
    body = "<h2>Heading</h2><p>Some analysis.</p>"
    daily_takeaway = "The takeaway."
    status = Post.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(hours=1))


# --- polls ---
from polls.models import Choice, Poll, Vote  # noqa: E402


class PollFactory(factory.django.DjangoModelFactory):
    """A poll on a published post. Pass choices=["A", "B"] to name them (default: three)."""

    class Meta:
        model = Poll
        skip_postgeneration_save = True

    post = factory.SubFactory(PostFactory)
    question = factory.Sequence(lambda n: f"How do you feel about idea {n}?")

    @factory.post_generation
    def choices(obj, create, extracted, **kwargs):
        if create:
            texts = extracted if extracted is not None else ["Hopeful", "Worried", "Not sure"]
            for position, text in enumerate(texts):
                Choice.objects.create(poll=obj, text=text, position=position)


class VoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vote

    poll = factory.SubFactory(PollFactory)
    choice = factory.LazyAttribute(lambda vote: vote.poll.choices.first())
    user = factory.SubFactory(UserFactory)


# --- comments ---


class CommentFactory(factory.django.DjangoModelFactory):
    """A visible top-level comment; pass parent= for a reply (tree columns follow it)."""

    class Meta:
        model = "comments.Comment"

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"Comment number {n}.")
    parent = None
    root = factory.LazyAttribute(lambda o: (o.parent.root or o.parent) if o.parent else None)
    depth = factory.LazyAttribute(lambda o: o.parent.depth + 1 if o.parent else 0)


# --- posts ---


class ThumbsUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "posts.ThumbsUp"

    post = factory.SubFactory(PostFactory)
    user = factory.SubFactory(UserFactory)


def make_subscribers(count: int, *, status=Subscription.Status.ACTIVE, prefix="sub") -> list[User]:
    """Create `count` readers with a subscription in `status`, in a few queries; the database
    makes their memberships of the default newsletter."""
    ensure_default_newsletter()
    users = User.objects.bulk_create(
        [User(email=f"{prefix}{index}@example.com", password="!") for index in range(count)]
    )
    Subscription.objects.bulk_create(
        [Subscription(user=user, status=status, source="test") for user in users]
    )
    return users


def welcome_due(*readers, subject: str = "Welcome aboard") -> None:
    """Make each reader due for the default newsletter's first welcome step now (the step is
    made if the newsletter has none, as after a test flushed the database)."""
    from newsletter.models import WelcomeProgress, WelcomeStep

    newsletter = ensure_default_newsletter()
    step = newsletter.welcome_steps.filter(is_active=True).order_by("position", "pk").first()
    if step is None:
        step = WelcomeStep.objects.create(
            newsletter=newsletter, subject=subject, body="<p>Glad you are here.</p>"
        )
    for reader in readers:
        WelcomeProgress.objects.create(
            user=reader, newsletter=newsletter, next_position=step.position
        )
