from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PollsConfig(AppConfig):
    name = "polls"
    verbose_name = _("Polls")

    def ready(self):
        from accounts.personal_data import register
        from polls import personal_data, signals

        register("poll_votes", personal_data.poll_votes)

        signals.connect()  # keeps cached pages in step with their data (posts/pagecache.py)
