"""Poll changes make the post's cached page out of date (posts/pagecache.py)."""

from django.db.models.signals import post_delete, post_save

from posts import pagecache


def poll_changed(sender, instance, **kwargs):
    pagecache.bump_posts([instance.post_id])


def poll_row_changed(sender, instance, **kwargs):
    """A choice or a vote: its poll says which post."""
    from polls.models import Poll

    field = sender._meta.get_field("poll")
    if field.is_cached(instance):
        pagecache.bump_posts([instance.poll.post_id])
    else:
        pagecache.bump_post_via(Poll, instance.poll_id)


def connect() -> None:
    from polls.models import Choice, Poll, Vote

    post_save.connect(poll_changed, sender=Poll, dispatch_uid="pagecache-poll")
    post_delete.connect(poll_changed, sender=Poll, dispatch_uid="pagecache-d-poll")
    post_save.connect(poll_row_changed, sender=Choice, dispatch_uid="pagecache-choice")
    post_delete.connect(poll_row_changed, sender=Choice, dispatch_uid="pagecache-d-choice")
    # Saves only: votes go with their choice, poll or post, whose receivers cover it, and a
    # receiver on vote deletes would make deleting a post load its 20,000 votes one by one.
    post_save.connect(poll_row_changed, sender=Vote, dispatch_uid="pagecache-vote")
