"""Cache invalidation: saving or deleting anything a cached page shows moves that page's version
on, in the same transaction (see posts/pagecache.py). Writes that send no signal (`update()`,
`bulk_create()`) call the bump functions themselves."""

from django.db.models.signals import m2m_changed, post_delete, post_save

from posts import pagecache

# Fields of a reader that pages show (names and badges on bylines and comments).
SHOWN_USER_FIELDS = {"display_name", "email", "avatar", "is_staff", "is_active"}


def site_changed(sender, **kwargs):
    pagecache.bump_site()


def user_saved(sender, instance, created, update_fields=None, **kwargs):
    # A new reader is on no page yet; a login only touches last_login.
    if created or (update_fields is not None and not SHOWN_USER_FIELDS & set(update_fields)):
        return
    pagecache.bump_site()


def post_row_changed(sender, instance, **kwargs):
    """For rows with a post foreign key: thumbs up (polls and comments connect theirs)."""
    pagecache.bump_posts([instance.post_id])


def connect() -> None:
    from accounts.models import User
    from posts.models import Post, Tag, ThumbsUp

    for model in (Post, Tag):
        name = model.__name__
        post_save.connect(site_changed, sender=model, dispatch_uid=f"pagecache-{name}")
        post_delete.connect(site_changed, sender=model, dispatch_uid=f"pagecache-d-{name}")
    for through in (Post.tags.through, Post.authors.through):
        m2m_changed.connect(site_changed, sender=through, dispatch_uid=f"pagecache-{through}")
    post_save.connect(user_saved, sender=User, dispatch_uid="pagecache-user")
    post_delete.connect(site_changed, sender=User, dispatch_uid="pagecache-d-user")
    # Saves only: a receiver on deletes would stop Django deleting these rows in bulk (it
    # would load every row of a big post to call it); set_thumbs_up bumps for its deletes.
    post_save.connect(post_row_changed, sender=ThumbsUp, dispatch_uid="pagecache-thumbsup")
