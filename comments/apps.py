from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = _("Comments")

    def ready(self):
        from comments import signals

        signals.connect()  # keeps cached pages in step with their data (posts/pagecache.py)
