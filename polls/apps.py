from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PollsConfig(AppConfig):
    name = "polls"
    verbose_name = _("Polls")

    def ready(self):
        from polls import pageslots

        pageslots.register()  # its places on logged-in readers' post pages (posts.pagecache)
