from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = _("Newsletter")

    def ready(self):
        from accounts import subscribe_options
        from accounts.personal_data import register
        from accounts.signals import address_proven, referral_counted, subscription_confirmed
        from newsletter import audience, receivers
        from newsletter.personal_data import newsletter_emails, newsletters

        register("newsletter_emails", newsletter_emails)
        register("newsletters", newsletters)
        subscribe_options.register(offer=audience.subscribe_offer, apply=audience.apply_choice)

        subscription_confirmed.connect(
            receivers.welcome_new_subscriber, dispatch_uid="newsletter.welcome_new_subscriber"
        )
        address_proven.connect(
            receivers.join_what_was_asked, dispatch_uid="newsletter.join_what_was_asked"
        )
        referral_counted.connect(
            receivers.reward_referrer, dispatch_uid="newsletter.reward_referrer"
        )
        try:
            from anymail.signals import tracking
        except ImportError:  # pragma: no cover - anymail is a dependency, but optional in spirit
            return
        tracking.connect(receivers.handle_mail_event, dispatch_uid="newsletter.handle_mail_event")
