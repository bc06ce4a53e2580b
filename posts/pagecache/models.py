from django.db import models
from django.utils.translation import gettext_lazy as _


class PageVersion(models.Model):
    """A number that moves on whenever what a group of cached pages shows changes.

    Key "site" covers what every page shows (posts, tags, authors); "post:<id>" covers one
    post's page (its poll results, comments, thumbs up). Database triggers move it on in the
    same transaction as every change (posts.pagecache), and cached pages are stored under the
    numbers they were rendered at, so a page can never outlive the data it shows.
    """

    key = models.CharField(_("key"), max_length=64, primary_key=True)
    number = models.BigIntegerField(_("number"), default=0)

    class Meta:
        verbose_name = _("page version")
        verbose_name_plural = _("page versions")

    def __str__(self):
        return f"{self.key} @ {self.number}"
