"""Signals newsletter sends: its public, outgoing events for the apps built on it.

newsletter imports no app above it, so an app that must react to a finished send (webhooks)
connects a receiver here, in its AppConfig.ready().
"""

from django.dispatch import Signal

# A newsletter send of a post finished: no delivery is pending any more. Sent once per send,
# after the transaction that marked it finished has committed.
#
# Arguments:
#   sender: the NewsletterSend model class.
#   send: the NewsletterSend, finished, with its final counts.
send_finished = Signal()
