"""Receivers for events the newsletter cannot call into: a subscription confirmed in accounts,
and a mail provider's bounce and complaint webhooks (through django-anymail). Connected in
NewsletterConfig.ready()."""

from django.db import transaction

from accounts.models import Subscription, User
from accounts.services import mark_bounced, unsubscribe_reader


def welcome_new_subscriber(sender, subscription, user, first_time, **kwargs):
    """Enter a newly confirmed reader into the welcome series of each newsletter they get.

    A returning reader is not welcomed twice: their earlier progress stays where it ended.
    """
    from newsletter.welcome import enter_confirmed

    enter_confirmed(user=user)


def join_what_was_asked(sender, user, **kwargs):
    """The reader typed their code: the newsletters chosen in their name on a public form, while
    their subscription was already confirmed, start now (audience.join)."""
    from newsletter.audience import join_pending

    join_pending(user=user)


def handle_mail_event(sender, event, esp_name, **kwargs):
    """Apply a mail provider's webhook event (through django-anymail) to the subscription:
    hard bounces and rejections stop the address, spam complaints and provider-side
    unsubscribes too. Temporary problems (deferred, soft bounces) change nothing."""
    recipient = (event.recipient or "").strip().lower()
    user = User.objects.filter(email=recipient).first() if recipient else None
    if user is None:
        return
    reason = f"{esp_name}: {event.event_type}"
    if event.description:
        reason += f" ({event.description})"
    if event.event_type in {"bounced", "rejected"}:
        mark_bounced(user_id=user.pk, reason=reason)
    elif event.event_type == "complained":
        mark_bounced(user_id=user.pk, reason=reason, status=Subscription.Status.COMPLAINED)
    elif event.event_type == "unsubscribed":
        unsubscribe_reader(user=user, reason=reason)


def reward_referrer(sender, referral, referrer, **kwargs):
    """Queue the milestone check for a reader whose referral just counted."""
    from newsletter.tasks import send_referral_rewards as send_referral_rewards_task

    user_id = referrer.pk
    transaction.on_commit(lambda: send_referral_rewards_task.enqueue(user_id=user_id))
