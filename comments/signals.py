"""Comment changes make the post's cached page out of date (posts/pagecache.py). Moderation
writes with update() and bumps the version itself (comments/services.py)."""

from django.db.models.signals import post_delete, post_save

from posts import pagecache


def comment_changed(sender, instance, **kwargs):
    pagecache.bump_posts([instance.post_id])


def like_changed(sender, instance, **kwargs):
    from comments.models import Comment

    if sender._meta.get_field("comment").is_cached(instance):
        pagecache.bump_posts([instance.comment.post_id])
    else:
        pagecache.bump_post_via(Comment, instance.comment_id)


def connect() -> None:
    from comments.models import Comment, CommentLike

    post_save.connect(comment_changed, sender=Comment, dispatch_uid="pagecache-comment")
    post_delete.connect(comment_changed, sender=Comment, dispatch_uid="pagecache-d-comment")
    # Saves only: unlike_comment bumps for its deletes, and likes otherwise go with their
    # comment (a receiver on deletes would make Django load every like to delete it).
    post_save.connect(like_changed, sender=CommentLike, dispatch_uid="pagecache-like")
