"""Background tasks of integrations: thin wrappers that call the services."""

from django_tasks import task


@task()
def deliver_webhook(delivery_id: int) -> str:
    """Make one attempt at a webhook delivery (retries enqueue this again, later)."""
    from integrations.services import deliver_webhook

    return deliver_webhook(delivery_id=delivery_id)


@task()
def sweep_events() -> int:
    """Announce scheduled posts that went live and polls that closed by themselves; then
    enqueue the next round, a minute later, while any endpoint is enabled."""
    from integrations.services import sweep_and_continue

    return sweep_and_continue()


@task()
def send_subscription_confirmation(user_id: int) -> bool:
    """Email the link that confirms a subscription asked for through the API."""
    from integrations.services import send_subscription_confirmation

    return send_subscription_confirmation(user_id=user_id)


@task()
def write_export(export_id: int) -> str:
    """Write a prepared export's file (the Ghost JSON or the subscribers CSV)."""
    from integrations.exports import write_export

    return write_export(export_id=export_id)


@task()
def tidy_exports() -> dict:
    """Mark stalled exports failed, delete expired ones and leftover pieces, prune old editor
    notices (enqueued when an export is asked for and when one finishes)."""
    from integrations.exports import tidy

    return tidy()
