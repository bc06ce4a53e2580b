from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = _("Comments")

    def ready(self):
        from accounts.personal_data import register
        from comments import personal_data, signals

        register("comments", personal_data.comments)
        register("comment_likes", personal_data.comment_likes)
        register("comment_reports", personal_data.comment_reports)
        register("discussion", personal_data.discussion)

        signals.connect()  # keeps cached pages in step with their data (posts/pagecache.py)
