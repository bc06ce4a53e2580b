"""Forget the cached settings when they change (connected in PublicationConfig.ready()).

Cache invalidation is one of the two uses of signals the style guide allows. A change to a
navigation link or social profile alone also moves the publication's ``updated_at`` on, since
cached pages and asset URLs are keyed by its stamp.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from publication.models import SINGLETON_ID, NavigationLink, Publication, SocialProfile


def _forget(**kwargs) -> None:
    Publication.objects.clear_cache()
    # Also after commit: a request in this process between the save and the commit would
    # otherwise have cached the old row again.
    transaction.on_commit(Publication.objects.clear_cache)


@receiver(post_save, sender=Publication, dispatch_uid="publication.saved")
def publication_saved(sender, **kwargs):
    _forget()


@receiver(post_save, sender=NavigationLink, dispatch_uid="publication.navigation_saved")
@receiver(post_delete, sender=NavigationLink, dispatch_uid="publication.navigation_deleted")
@receiver(post_save, sender=SocialProfile, dispatch_uid="publication.social_saved")
@receiver(post_delete, sender=SocialProfile, dispatch_uid="publication.social_deleted")
def part_changed(sender, **kwargs):
    Publication.objects.filter(pk=SINGLETON_ID).update(updated_at=timezone.now())
    _forget()
