"""Upgrading a database in the middle of a send: the newsletter's models moved out of accounts
(same tables), and tasks queued under their old dotted path are repointed, so a send that was
running when the new code arrived finishes, with no reader mailed twice."""

from collections import Counter

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from newsletter.models import Delivery, NewsletterSend
from tests.factories import PostFactory, make_subscribers
from tests.newsletter.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# The last accounts migration of the schema before the move: sends and deliveries in accounts.
BEFORE = [("accounts", "0004_rate_limit_counts")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()
    return executor.loader.project_state(targets).apps if targets else None


def queued(task_path: str, *, status: str = "READY", **kwargs) -> DBTaskResult:
    now = timezone.now()
    return DBTaskResult.objects.create(
        task_path=task_path,
        status=status,
        args_kwargs={"args": [], "kwargs": kwargs},
        backend_name="default",
        queue_name="default",
        run_after=now,
        finished_at=now if status == "SUCCESSFUL" else None,
        exception_class_path="",
        traceback="",
    )


@pytest.fixture
def old_schema():
    """The database as today's main leaves it; migrated forward again whatever the test does."""
    old_apps = migrate(BEFORE)
    try:
        yield old_apps
    finally:
        migrate(None)


def test_a_send_in_progress_survives_the_upgrade_and_finishes(
    old_schema, smtp_port, start_sink, start_worker
):
    OldSend = old_schema.get_model("accounts", "NewsletterSend")
    OldDelivery = old_schema.get_model("accounts", "Delivery")
    # Readers made with the old schema's models: today's User has columns that schema lacks.
    OldUser = old_schema.get_model("accounts", "User")
    OldSubscription = old_schema.get_model("accounts", "Subscription")
    readers = OldUser.objects.bulk_create(
        [OldUser(email=f"sub{index}@example.com", password="!") for index in range(30)]
    )
    OldSubscription.objects.bulk_create(
        [OldSubscription(user_id=user.pk, status="active", source="test") for user in readers]
    )
    done_post, running_post = PostFactory(), PostFactory()
    now = timezone.now()
    finished = OldSend.objects.create(
        post_id=done_post.pk,
        status="finished",
        subject="Last week",
        started_at=now,
        finished_at=now,
        recipients_count=2,
        sent_count=2,
    )
    for reader in readers[:2]:
        OldDelivery.objects.create(send=finished, user_id=reader.pk, status="sent", sent_at=now)
    running = OldSend.objects.create(
        post_id=running_post.pk,
        status="sending",
        subject="This week",
        html_body="<p>This week. <a href='%%FF:unsubscribe%%'>Unsubscribe</a></p>",
        text_body="This week.\nUnsubscribe: %%FF:unsubscribe%%\n",
        started_at=now,
        heartbeat_at=now,
        recipients_count=30,
    )
    statuses = ["sent"] * 10 + ["failed"] * 2 + ["pending"] * 18
    for reader, status in zip(readers, statuses, strict=True):
        OldDelivery.objects.create(
            send=running,
            user_id=reader.pk,
            status=status,
            attempts=0 if status == "pending" else 1,
            sent_at=now if status == "sent" else None,
            last_error="550 no such user" if status == "failed" else "",
        )
    batch = queued("accounts.tasks.send_batch", send_id=running.pk)
    history = queued("accounts.tasks.send_batch", status="SUCCESSFUL", send_id=finished.pk)
    send_perm = Permission.objects.get(
        content_type__app_label="accounts", codename="add_newslettersend"
    )

    migrate(None)

    # Every row is still there, now through the newsletter's models.
    assert NewsletterSend.objects.get(pk=finished.pk).status == NewsletterSend.Status.FINISHED
    assert Delivery.objects.filter(send_id=finished.pk, status="sent").count() == 2
    progress = NewsletterSend.objects.get(pk=running.pk).progress()
    assert (progress["sent"], progress["failed"], progress["pending"]) == (10, 2, 18)
    # The queued batch points at the new module; finished history keeps the path it ran under.
    batch.refresh_from_db()
    history.refresh_from_db()
    assert batch.task_path == "newsletter.tasks.send_batch"
    assert history.task_path == "accounts.tasks.send_batch"
    # Editors keep their permissions: the content type moved with the model.
    send_perm.refresh_from_db()
    assert send_perm.content_type.app_label == "newsletter"

    # A real worker picks up the task queued before the upgrade and finishes the send.
    sink = start_sink(smtp_port)
    worker = start_worker(smtp_port)
    send = NewsletterSend.objects.get(pk=running.pk)

    def is_finished():
        send.refresh_from_db()
        return send.status == NewsletterSend.Status.FINISHED

    wait_for(is_finished, message=worker.output)
    recipients = Counter(sink.recipients())
    assert set(recipients) == {reader.email for reader in readers[12:]}
    assert set(recipients.values()) == {1}
    assert (send.sent_count, send.failed_count) == (28, 2)
    batch.refresh_from_db()
    assert batch.status == "SUCCESSFUL"


def test_migrating_back_points_unfinished_tasks_at_the_old_module():
    task = queued("newsletter.tasks.watch_send", send_id=1, token="t")
    try:
        migrate(BEFORE)
        task.refresh_from_db()
        assert task.task_path == "accounts.tasks.watch_send"
    finally:
        migrate(None)
    task.refresh_from_db()
    assert task.task_path == "newsletter.tasks.watch_send"


# --- Several newsletters: the one list becomes the default newsletter -------------------------

BEFORE_NEWSLETTERS = [
    ("newsletter", "0004_audience_models"),
    ("accounts", "0006_address_and_name_rules"),
]


def test_every_subscriber_moves_to_the_default_newsletter_and_nobody_who_left_comes_back():
    from datetime import timedelta

    from accounts.models import Subscription
    from newsletter import audience
    from newsletter.models import Membership, Newsletter

    old = migrate(BEFORE_NEWSLETTERS)
    try:
        OldUser = old.get_model("accounts", "User")
        OldSubscription = old.get_model("accounts", "Subscription")
        OldSend = old.get_model("newsletter", "NewsletterSend")
        long_ago = timezone.now() - timedelta(days=900)
        left_at = timezone.now() - timedelta(days=30)
        rows = {}
        for status in ("active", "pending", "unsubscribed", "bounced", "complained"):
            user = OldUser.objects.create(email=f"{status}@example.com", password="!")
            rows[status] = OldSubscription.objects.create(
                user=user,
                status=status,
                source=f"post:{status}",
                created_at=long_ago,
                confirmed_at=long_ago if status != "pending" else None,
                unsubscribed_at=left_at if status == "unsubscribed" else None,
            )
        old_send = OldSend.objects.create(post_id=PostFactory().pk, status="finished")
    finally:
        migrate(None)

    default = Newsletter.objects.get(slug="newsletter")
    assert default.is_default
    members = {m.user.email: m for m in Membership.objects.select_related("user")}
    assert set(members) == {f"{status}@example.com" for status in rows}
    for status, subscription in rows.items():
        membership = members[f"{status}@example.com"]
        assert membership.newsletter == default
        assert membership.created_at == long_ago
        assert membership.source == f"post:{status}"
        # The subscription itself is untouched.
        assert Subscription.objects.get(pk=subscription.pk).status == status
    assert members["unsubscribed@example.com"].status == Membership.Status.UNSUBSCRIBED
    assert members["unsubscribed@example.com"].unsubscribed_at == left_at
    assert members["active@example.com"].status == Membership.Status.SUBSCRIBED
    # Only the active subscriber receives the default newsletter, as before the upgrade.
    assert list(audience.recipients(newsletter=default).values_list("email", flat=True)) == [
        "active@example.com"
    ]
    assert NewsletterSend.objects.get(pk=old_send.pk).newsletter == default
    # From now on, a new subscription (whoever inserts it) joins the default newsletters.
    newcomer = make_subscribers(1, prefix="after")[0]
    assert Membership.objects.filter(user=newcomer, newsletter=default).exists()


# The schema before the welcome series' first step was made from the publication's words.
BEFORE_FIRST_STEP = [
    ("newsletter", "0008_welcome_series"),
    ("publication", "0002_todays_settings"),
]


def test_the_old_welcome_words_become_the_first_step_before_they_are_dropped():
    old = migrate(BEFORE_FIRST_STEP)
    try:
        Publication = old.get_model("publication", "Publication")
        Publication.objects.update_or_create(
            pk=1,
            defaults={
                "name": "The Long View",
                "welcome_subject": "Hello from The Long View",
                "welcome_body": "Thanks for joining.\n\nReply to this email   to say hello.",
            },
        )
        # Migrating back leaves the step made before; this database is one from before it.
        old.get_model("newsletter", "WelcomeStep").objects.all().delete()
    finally:
        migrate(None)
    from newsletter.models import Newsletter

    (step,) = Newsletter.objects.default().welcome_steps.all()
    assert step.subject == "Hello from The Long View"
    assert step.body == "<p>Thanks for joining.</p><p>Reply to this email to say hello.</p>"
    assert (step.delay_hours, step.show_latest_post, step.is_active) == (0, True, True)
    with connection.cursor() as cursor:
        columns = {
            column.name
            for column in connection.introspection.get_table_description(
                cursor, "publication_publication"
            )
        }
    assert "welcome_subject" not in columns and "welcome_body" not in columns
