from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = _("Comments")

    def ready(self):
        from comments import pageslots

        pageslots.register()  # its places on logged-in readers' post pages (posts.pagecache)
