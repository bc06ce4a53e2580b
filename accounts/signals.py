"""Receivers for allauth's and anymail's events, which we cannot call into directly."""

from allauth.account.signals import authentication_step_completed, email_confirmed
from django.dispatch import receiver

from accounts.models import Subscription, User
from accounts.services import confirm_subscription, mark_bounced, unsubscribe_reader


@receiver(email_confirmed)
def activate_subscription_on_confirmation(sender, request, email_address, **kwargs):
    # The one-time code a new subscriber types is allauth's proof of the address, so it is also
    # the newsletter's double opt-in.
    confirm_subscription(user=email_address.user)


@receiver(authentication_step_completed)
def activate_subscription_on_login_code(sender, request, user, method, **kwargs):
    # A reader whose address was verified before (someone who unsubscribed and now subscribes
    # again) gets no email_confirmed: the code they typed is the proof for their pending
    # subscription. Other login methods (an editor's password) prove nothing about the inbox.
    if method == "code" and kwargs.get("email"):
        confirm_subscription(user=user)


try:
    from anymail.signals import tracking
except ImportError:  # pragma: no cover
    tracking = None


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


if tracking is not None:
    tracking.connect(handle_mail_event, dispatch_uid="accounts.handle_mail_event")
