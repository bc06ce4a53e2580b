"""A Substack export zip, imported through the services (tasks run at once)."""

from http import HTTPStatus

import pytest

from accounts.models import Subscription, User
from imports.models import Import, OldAddress
from newsletter.models import Membership, Newsletter
from posts.models import Post
from tests.factories import PostFactory, SubscriptionFactory
from tests.imports.exports import substack_post, substack_reader, substack_zip

pytestmark = pytest.mark.django_db


def _export(**extra):
    return substack_zip(
        posts=[
            substack_post(101, "first-light", "First light", subtitle="Where it starts"),
            substack_post(
                102,
                "paid-notes",
                "Paid notes",
                audience="only_paid",
                body="<p>For paying readers.</p><script>alert(1)</script>",
            ),
            substack_post(103, "founders", "Founders", audience="founding"),
            substack_post(104, "unfinished", "Unfinished", is_published="false"),
        ],
        readers=[
            substack_reader("Ada@Example.com"),
            substack_reader("grace@example.com", plan="paid", active_subscription="true"),
            substack_reader("quiet@example.com", email_disabled="true"),
        ],
        **extra,
    )


def test_the_dry_run_reports_and_imports_nothing(import_file):
    job = import_file("substack", _export())

    assert job.status == Import.Status.CHECKED
    assert job.counts["post"] == {"create": 4}
    assert job.counts["subscriber"] == {"create": 3}
    assert not Post.objects.filter(slug="first-light").exists()
    assert not User.objects.filter(email="ada@example.com").exists()


def test_posts_and_subscribers_import_with_gate_drafts_and_no_email(
    import_file, run, mailoutbox, client
):
    job = run(import_file("substack", _export()))

    assert job.status == Import.Status.DONE
    assert job.progress_done == job.progress_total == 7
    first = Post.objects.get(slug="first-light")
    assert first.subtitle == "Where it starts"
    assert first.is_published()
    assert first.published_at.isoformat().startswith("2024-03-05T08:30")
    assert Post.objects.get(slug="paid-notes").audience == Post.Audience.SUBSCRIBERS
    assert "<script>" not in Post.objects.get(slug="paid-notes").body
    assert Post.objects.get(slug="founders").audience == Post.Audience.SUBSCRIBERS
    assert Post.objects.get(slug="unfinished").status == Post.Status.DRAFT
    assert client.get("/p/first-light/").status_code == HTTPStatus.OK
    old = client.get("/p/first-light")  # Substack's address: ours, without the slash
    assert (old.status_code, old["Location"]) == (HTTPStatus.MOVED_PERMANENTLY, "/p/first-light/")

    ada = Subscription.objects.get(user__email="ada@example.com")
    assert (ada.status, ada.source) == (Subscription.Status.ACTIVE, "import")
    assert Subscription.objects.get(user__email="quiet@example.com").status == "unsubscribed"
    assert list(
        User.objects.get(email="grace@example.com").subscriber_tags.values_list("name", flat=True)
    ) == ["Substack paid"]
    assert mailoutbox == []  # no confirmation, no welcome: they subscribed on Substack


def test_running_the_same_file_twice_makes_nothing_twice(import_file, run):
    run(import_file("substack", _export()))
    posts, users = Post.objects.count(), User.objects.count()

    again = run(import_file("substack", _export()))

    assert (Post.objects.count(), User.objects.count()) == (posts, users)
    assert again.counts["post"] == {"update": 4}
    assert again.counts["subscriber"] == {"update": 2, "skip": 1}
    assert Membership.objects.filter(user__email="ada@example.com").count() == 1


def test_nobody_who_left_is_made_active_again(import_file, run):
    for email, status in [
        ("ada@example.com", "unsubscribed"),
        ("grace@example.com", "bounced"),
        ("quiet@example.com", "complained"),
    ]:
        SubscriptionFactory(user__email=email, status=status)

    job = run(import_file("substack", _export()))

    assert job.counts["subscriber"] == {"skip": 3}
    statuses = dict(Subscription.objects.values_list("user__email", "status"))
    assert statuses["ada@example.com"] == "unsubscribed"
    assert statuses["grace@example.com"] == "bounced"
    assert statuses["quiet@example.com"] == "complained"
    assert any("never made active again" in row["message"] for row in job.report)


def test_subscribers_go_to_the_newsletter_the_editor_picked(import_file, run):
    weekly = Newsletter.objects.create(name="Weekly digest", slug="weekly", is_default=False)

    run(import_file("substack", _export(), newsletter=weekly))

    ada = User.objects.get(email="ada@example.com")
    assert list(Membership.objects.filter(user=ada).values_list("newsletter__slug", flat=True)) == [
        "weekly"
    ]


def test_a_clashing_slug_keeps_ours_and_the_old_address_leads_to_the_import(
    import_file, run, client
):
    ours = PostFactory(slug="first-light", title="Our own first light")

    run(import_file("substack", _export()))

    ours.refresh_from_db()
    assert ours.title == "Our own first light"
    imported = Post.objects.get(title="First light")
    assert imported.slug == "first-light-2"
    assert OldAddress.objects.get(path="/p/first-light").post == imported
    # Our page at the same path still wins over the old address.
    assert client.get("/p/first-light/").status_code == HTTPStatus.OK
    assert b"Our own first light" in client.get("/p/first-light/").content


def test_problem_rows_are_reported_and_the_rest_imports(import_file, run):
    data = substack_zip(
        posts=[
            substack_post(201, "kept", "Kept"),
            substack_post(202, "no-body", "No body", body=None),
            {**substack_post(203, "x", "Bad id"), "post_id": "not-a-number"},
        ],
        readers=[
            substack_reader("good@example.com"),
            substack_reader("GOOD@example.com"),
            substack_reader("not an address"),
            substack_reader("user@localhost"),
        ],
    )

    job = run(import_file("substack", data))

    assert Post.objects.filter(slug="kept").exists()
    assert job.counts["post"] == {"create": 1, "problem": 2}
    assert job.counts["subscriber"] == {"create": 1, "skip": 1, "problem": 2}
    messages = {row["key"]: row["message"] for row in job.report}
    assert "missing from the zip" in messages["no-body"]
    assert "appears earlier in the file" in messages["good@example.com"]
    assert User.objects.filter(email="good@example.com").count() == 1


def test_a_zip_that_is_not_a_substack_export_is_refused(import_file):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("holiday.jpg", b"not really")
    job = import_file("substack", buffer.getvalue())

    assert job.status == Import.Status.REFUSED
    assert "not a Substack export" in job.error
    assert Post.objects.count() == 0
