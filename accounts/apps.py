from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Readers and subscriptions")

    def ready(self):
        from accounts import receivers  # noqa: F401  (connects allauth receivers)
        from accounts.personal_data import (
            account,
            email_addresses,
            referrals,
            register,
            subscription,
        )

        # The reader's data export starts with what accounts stores; the apps above add theirs.
        register("account", account)
        register("email_addresses", email_addresses)
        register("subscription", subscription)
        register("referrals", referrals)
