"""Receivers for allauth's events, which we cannot call into directly."""

from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from accounts.services import confirm_subscription


@receiver(email_confirmed)
def activate_subscription_on_confirmation(sender, request, email_address, **kwargs):
    # The one-time code a new subscriber types is allauth's proof of the address, so it is also
    # the newsletter's double opt-in.
    confirm_subscription(user=email_address.user)
