from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PollsConfig(AppConfig):
    name = "polls"
    verbose_name = _("Polls")

    def ready(self):
        from polls import signals

        signals.connect()  # keeps cached pages in step with their data (posts/pagecache.py)
