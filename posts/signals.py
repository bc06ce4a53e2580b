"""Signals posts sends: its public, outgoing events for the apps built on it.

posts imports no app above it, so an app that must react to a post going live (webhooks)
connects a receiver here, in its AppConfig.ready().
"""

from django.dispatch import Signal

# A post went live through posts.services.publish_post (the admin's "Publish" action). Sent once
# the transaction has committed; not sent when publish_post only schedules the post. A
# scheduled post reaching its time goes live with nobody calling anything, so apps that must
# know about those look for newly live posts themselves (integrations does, on a timer).
#
# Arguments:
#   sender: the Post model class.
#   post: the Post, now live.
post_published = Signal()
