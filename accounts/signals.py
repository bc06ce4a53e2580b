"""Signals accounts sends: its public, outgoing events for the apps built on it.

accounts imports no other app, so an app that must react to a reader's subscription (the
newsletter's welcome email) connects a receiver here, in its AppConfig.ready().
"""

from django.dispatch import Signal

# A reader's subscription became active because the reader confirmed it: by the emailed code
# (double opt-in), or by turning the newsletter on with an address proved before. Sent once the
# transaction that activated it has committed, so receivers may enqueue tasks that read it.
#
# Arguments:
#   sender: the Subscription model class.
#   subscription: the Subscription, now active.
#   user: its reader (accounts.User).
#   first_time: True if the reader never had a confirmed subscription before; a reader coming
#       back after unsubscribing gets False.
subscription_confirmed = Signal()

# A reader stopped their active subscription: by the unsubscribe link or one-click header of
# an email, or by turning the newsletter off on the account page. Not sent for bounces and
# complaints (the mail system's decision, not the reader's), nor when nothing changed. Sent
# once the transaction has committed.
#
# Arguments:
#   sender: the Subscription model class.
#   subscription: the Subscription, now unsubscribed.
#   user: its reader (accounts.User).
subscription_stopped = Signal()

# A referral counted: the reader it brought confirmed their address, and it is neither the
# referrer themselves nor held as part of a burst (accounts.referrals). Sent once per referral,
# once the transaction has committed.
#
# Arguments:
#   sender: the Referral model class.
#   referral: the Referral, now counted.
#   referrer: the reader who gets the credit (accounts.User).
referral_counted = Signal()

# A reader proved they read their inbox: they typed the emailed one-time code (to subscribe or
# to log in). Sent whatever their subscription's state, so an app can carry out what was asked
# in their name before the proof (newsletters chosen on a public form).
#
# Arguments:
#   sender: the User model class.
#   user: the reader (accounts.User).
address_proven = Signal()
