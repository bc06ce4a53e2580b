"""Two imports of the same file running at the same moment make nothing twice."""

import pytest

from accounts.models import Subscription, User
from imports.models import Import, ImportedPost, OldAddress
from imports.services import check_import, run_import
from newsletter.models import Membership, SubscriberTag
from posts.models import Post
from tests.concurrency import failures, run_at_once
from tests.factories import EditorFactory, ensure_default_newsletter
from tests.imports.exports import substack_post, substack_reader, substack_zip

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_file_imported_twice_at_once_makes_each_thing_once():
    ensure_default_newsletter()
    editor = EditorFactory()
    data = substack_zip(
        [substack_post(500 + n, f"story-{n}", f"Story {n}") for n in range(8)],
        [substack_reader(f"reader{n}@example.com", plan="paid") for n in range(60)],
    )
    jobs = [
        Import.objects.create(kind="substack", filename="export.zip", data=data, created_by=editor)
        for _ in range(2)
    ]
    for job in jobs:
        check_import(import_id=job.pk)
        Import.objects.filter(pk=job.pk).update(status=Import.Status.RUNNING)

    outcomes = run_at_once(2, lambda i: run_import(import_id=jobs[i].pk).status)

    assert not failures(outcomes), outcomes
    assert outcomes == ["done", "done"]
    assert Post.objects.filter(slug__startswith="story-").count() == 8
    assert ImportedPost.objects.count() == 8
    assert OldAddress.objects.count() == 0  # the slugs were free: the old /p/ path is ours
    assert User.objects.filter(email__startswith="reader").count() == 60
    assert Subscription.objects.filter(source="import").count() == 60
    assert Membership.objects.filter(user__email__startswith="reader").count() == 60
    assert SubscriberTag.objects.get(name="Substack paid").readers.count() == 60
