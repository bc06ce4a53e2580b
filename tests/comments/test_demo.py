"""The demo discussion: lively, and loaded once however often seed_demo runs."""

import io

import pytest
from django.core.management import call_command

from comments.models import Comment, CommentLike

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_a_lively_thread_once(client, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    counts = (Comment.objects.count(), CommentLike.objects.count())
    assert counts[0] >= 15
    assert counts[1] >= 20
    assert Comment.objects.filter(author__is_staff=True, parent__isnull=False).exists()
    assert Comment.objects.filter(depth__gte=3).exists()
    assert set(Comment.objects.values_list("status", flat=True)) == {"visible"}
    for comment in Comment.objects.all():
        assert comment.like_count == comment.likes.count()

    call_command("seed_demo", stdout=io.StringIO())
    assert (Comment.objects.count(), CommentLike.objects.count()) == counts

    post = Comment.objects.filter(depth__gte=3).first().post
    html = client.get(post.get_absolute_url()).content.decode()
    assert "badge-editor" in html
    assert "Continue this thread" in html
