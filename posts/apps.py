from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PostsConfig(AppConfig):
    name = "posts"
    verbose_name = _("Posts")

    def ready(self):
        from accounts.personal_data import register
        from posts import personal_data

        register("thumbs_up", personal_data.thumbs_up)
