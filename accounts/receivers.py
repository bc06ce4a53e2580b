"""Receivers for allauth's events, which we cannot call into directly (connected in
AccountsConfig.ready)."""

from allauth.account.signals import authentication_step_completed, email_confirmed
from django.dispatch import receiver

from accounts.models import User
from accounts.referrals import credit_referral
from accounts.services import confirm_subscription
from accounts.signals import address_proven, subscription_confirmed


@receiver(email_confirmed)
def activate_subscription_on_confirmation(sender, request, email_address, **kwargs):
    # The one-time code a new subscriber types is allauth's proof of the address, so it is also
    # the newsletter's double opt-in.
    confirm_subscription(user=email_address.user)
    address_proven.send(sender=User, user=email_address.user)


@receiver(authentication_step_completed)
def activate_subscription_on_login_code(sender, request, user, method, **kwargs):
    # A reader whose address was verified before (someone who unsubscribed and now subscribes
    # again) gets no email_confirmed: the code they typed is the proof for their pending
    # subscription. Other login methods (an editor's password) prove nothing about the inbox.
    if method == "code" and kwargs.get("email"):
        confirm_subscription(user=user)
        address_proven.send(sender=User, user=user)


@receiver(subscription_confirmed, dispatch_uid="accounts.credit_referral_on_confirmation")
def credit_referral_on_confirmation(sender, subscription, user, first_time, **kwargs):
    # The referred reader proved their address: the referral that brought them counts (once).
    credit_referral(referred=user)
