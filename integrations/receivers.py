"""Receivers for the lower apps' outgoing signals, each turning an event into webhook
deliveries. Connected in IntegrationsConfig.ready(): posts, comments, newsletter and accounts
never import integrations."""

from accounts.signals import subscription_confirmed, subscription_stopped
from comments.signals import comment_published
from integrations import payloads, services
from integrations.models import WebhookEvent
from newsletter.signals import send_finished
from posts.signals import post_published


def on_post_published(sender, post, **kwargs):
    services.emit_post_published(post=post)


def on_send_finished(sender, send, **kwargs):
    services.emit_event(
        event=WebhookEvent.POST_SENT,
        data=payloads.send(send),
        once_key=f"post.sent:{send.pk}",
        occurred_at=send.finished_at,
    )


def on_subscription_confirmed(sender, subscription, user, **kwargs):
    services.emit_event(
        event=WebhookEvent.SUBSCRIBER_CONFIRMED,
        data=payloads.subscriber(subscription, user),
        occurred_at=subscription.confirmed_at,
        reader=user,
    )


def on_subscription_stopped(sender, subscription, user, **kwargs):
    services.emit_event(
        event=WebhookEvent.SUBSCRIBER_UNSUBSCRIBED,
        data=payloads.subscriber(subscription, user),
        occurred_at=subscription.unsubscribed_at,
        reader=user,
    )


def on_comment_published(sender, comment, **kwargs):
    services.emit_event(event=WebhookEvent.COMMENT_PUBLISHED, data=payloads.comment(comment))


def connect() -> None:
    post_published.connect(on_post_published, dispatch_uid="integrations.post_published")
    send_finished.connect(on_send_finished, dispatch_uid="integrations.send_finished")
    subscription_confirmed.connect(
        on_subscription_confirmed, dispatch_uid="integrations.subscription_confirmed"
    )
    subscription_stopped.connect(
        on_subscription_stopped, dispatch_uid="integrations.subscription_stopped"
    )
    comment_published.connect(on_comment_published, dispatch_uid="integrations.comment_published")
