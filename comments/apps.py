from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = _("Comments")

    def ready(self):
        from accounts.personal_data import register
        from comments import pageslots, personal_data

        register("comments", personal_data.comments)
        register("comment_likes", personal_data.comment_likes)
        register("comment_reports", personal_data.comment_reports)
        register("discussion", personal_data.discussion)

        pageslots.register()  # its places on logged-in readers' post pages (posts.pagecache)
