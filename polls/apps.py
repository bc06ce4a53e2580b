from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PollsConfig(AppConfig):
    name = "polls"
    verbose_name = _("Polls")

    def ready(self):
        from accounts.personal_data import register
        from polls import pageslots, personal_data

        register("poll_votes", personal_data.poll_votes)

        pageslots.register()  # its places on logged-in readers' post pages (posts.pagecache)
