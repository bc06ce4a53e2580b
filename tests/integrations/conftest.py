from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Subscription
from integrations.models import ApiKey
from integrations.services import create_api_key
from newsletter.models import Membership, Newsletter, SubscriberNote, SubscriberTag
from posts.models import Post
from posts.services import store_body_image
from tests.factories import (
    EditorFactory,
    PostFactory,
    SubscriptionFactory,
    TagFactory,
    UserFactory,
    ensure_default_newsletter,
)
from tests.newsletter.conftest import SMTPListener, Worker, free_port, worker_env
from tests.posts.pictures import jpeg_bytes


@pytest.fixture
def make_key(db):
    """Return a function making a live API key with the given scopes: (row, key in full)."""

    def make(*scopes, name="Partner site"):
        row = ApiKey(name=name, scopes=list(scopes))
        return row, create_api_key(key=row, created_by=None)

    return make


@pytest.fixture
def receiver():
    from tests.integrations.receiver import Receiver

    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def loopback_hooks(settings):
    """Webhooks may reach the test receiver on 127.0.0.1, quickly, and retry at once."""
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    settings.WEBHOOK_RETRY_SECONDS = 0
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5


@pytest.fixture
def db_tasks(settings):
    """The real task queue: tasks wait in the database until run_worker() runs them."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def run_worker() -> None:
    """Run every task that is due, retries included, in this process, then return."""
    from django.core.management import call_command

    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)


@pytest.fixture
def publication(db):
    """A small publication: two authors, tags, public, gated, draft and scheduled posts, two
    newsletters and subscribers in every state, tagged and with memberships."""
    default = ensure_default_newsletter()
    weekly = Newsletter.objects.create(
        name="Weekly digest",
        slug="weekly",
        description="The week in one email.",
        sender_name="The Desk",
        is_default=False,
        position=2,
    )
    Newsletter.objects.create(name="Old series", slug="old-series", is_archived=True, position=3)
    ada = EditorFactory(display_name="Ada Writer", bio="Writes about cities.")
    ben = UserFactory(display_name="Ben Reporter", is_staff=True, bio="")
    climate = TagFactory(name="Climate", slug="climate", description="Heat and weather.")
    energy = TagFactory(name="Energy", slug="energy")
    image = store_body_image(
        upload=SimpleUploadedFile("a.jpg", jpeg_bytes((1600, 900)), "image/jpeg"),
        uploaded_by=None,
    )
    src = image.renditions[0]["name"]
    public = PostFactory(
        title="Trams are back",
        slug="trams-are-back",
        subtitle="Cities rebuild their lines.",
        body=(
            f'<p>Opening.</p><figure><img src="/media/{src}" alt="A tram"></figure>'
            '<p><a href="/p/other/">Another post</a></p>'
        ),
        cover=SimpleUploadedFile("cover.jpg", jpeg_bytes((1200, 800)), "image/jpeg"),
        cover_alt="A tram at dusk",
        is_featured=True,
    )
    public.tags.add(climate, energy)
    # One at a time: add(a, b) inserts in the order of a set of ids, not as written.
    public.authors.add(ada)
    public.authors.add(ben)
    gated = PostFactory(
        title="Members read on",
        slug="members-read-on",
        audience=Post.Audience.SUBSCRIBERS,
        body='<p>Everyone reads this.</p><hr class="more"><p>Subscribers read this.</p>',
    )
    gated.tags.add(climate)
    gated.authors.add(ada)
    draft = PostFactory(title="Half written", slug="half-written", status=Post.Status.DRAFT)
    draft.authors.add(ben)
    PostFactory(
        title="Coming soon",
        slug="coming-soon",
        status=Post.Status.SCHEDULED,
        published_at=timezone.now() + timedelta(days=2),
    )

    def reader(email, status, name=""):
        user = UserFactory(email=email, display_name=name)
        SubscriptionFactory(user=user, status=status, source="homepage")
        return user

    active = reader("active@example.com", Subscription.Status.ACTIVE, "Alma Active")
    Membership.objects.create(user=active, newsletter=weekly)
    gone = reader("gone@example.com", Subscription.Status.UNSUBSCRIBED)
    Subscription.objects.filter(user=gone).update(unsubscribed_at=timezone.now())
    dead = reader("dead@example.com", Subscription.Status.BOUNCED)
    pending = reader("pending@example.com", Subscription.Status.PENDING)
    vip = SubscriberTag.objects.create(name="VIP")
    vip.readers.add(active, dead)
    SubscriberTag.objects.create(name="Donor").readers.add(active)
    SubscriberNote.objects.create(user=active, text="Met at the conference.")
    return {
        "default": default,
        "weekly": weekly,
        "ada": ada,
        "ben": ben,
        "posts": {"public": public, "gated": gated, "draft": draft},
        "readers": {"active": active, "gone": gone, "dead": dead, "pending": pending},
        "image": image,
    }


@pytest.fixture
def smtp():
    """A real SMTP listener on loopback, for the export workers' emails."""
    listener = SMTPListener(free_port()).start()
    yield listener
    listener.stop()


@pytest.fixture
def worker_for(settings, tmp_path):
    """Start a real worker (mail to the given SMTP port) on the database task backend."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    started: list[Worker] = []

    def start(smtp_port: int) -> Worker:
        running = Worker(worker_env(smtp_port), tmp_path / "worker.log", "export-worker")
        started.append(running)
        running.wait_started()
        return running

    yield start
    for running in started:
        running.stop()
