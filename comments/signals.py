"""Signals comments sends: its public, outgoing events for the apps built on it.

comments imports no app above it, so an app that must react to a new public comment (webhooks)
connects a receiver here, in its AppConfig.ready().
"""

from django.dispatch import Signal

# A comment became visible to readers: written by a reader whom no hold rule stopped, or
# approved by an editor. Sent once the transaction has committed, once per comment.
#
# Arguments:
#   sender: the Comment model class.
#   comment: the Comment, now visible.
comment_published = Signal()
