"""Receivers for events the newsletter cannot call into: a subscription confirmed in accounts,
and a mail provider's bounce and complaint webhooks (through django-anymail). Connected in
NewsletterConfig.ready()."""

from django.db import transaction

from accounts.models import Subscription, User
from accounts.services import mark_bounced, unsubscribe_reader


def welcome_new_subscriber(sender, subscription, user, first_time, **kwargs):
    """Queue the welcome email for a reader's first confirmed subscription."""
    from newsletter.tasks import send_welcome_email as send_welcome_email_task

    if not first_time:
        return  # a returning reader is not welcomed twice
    user_id = user.pk
    # accounts sends the signal on commit already; on_commit runs this at once then, and still
    # waits if a caller ever sends it inside a transaction.
    transaction.on_commit(lambda: send_welcome_email_task.enqueue(user_id=user_id))


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
