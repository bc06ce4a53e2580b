from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublicationConfig(AppConfig):
    name = "publication"
    verbose_name = _("Settings")

    def ready(self):
        from publication import signals  # noqa: F401  (connects the cache's receivers)
