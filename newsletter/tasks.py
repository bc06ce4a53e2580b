"""Background tasks of the newsletter: thin wrappers that load by id and call the services.

Enqueue them through `transaction.on_commit` (newsletter.services.enqueue_later does) so a
worker never looks for rows that are not committed yet. Their dotted paths are stored with every
queued task: moving or renaming one needs a migration like 0003_queued_task_paths.
"""

from django_tasks import TaskContext, task

from newsletter import delivery, services


def _worker_id(context: TaskContext) -> str:
    worker_ids = context.task_result.worker_ids
    return (worker_ids[-1] if worker_ids else "") or "worker"


@task(takes_context=True)
def send_batch(context: TaskContext, send_id: int) -> str:
    """Send one batch of a newsletter send, then enqueue the next one."""
    return delivery.run_batch(send_id=send_id, worker_id=_worker_id(context)[:64])


@task()
def watch_send(send_id: int, token: str) -> str:
    """Start a scheduled send when due, heal a stalled one, finish a done one."""
    return delivery.watch(send_id=send_id, token=token)


@task(takes_context=True)
def send_welcome_steps(context: TaskContext) -> dict[str, int]:
    """Send the welcome series steps that are due."""
    from newsletter import welcome

    return welcome.run_due(worker_id=_worker_id(context)[:64])


@task()
def notify_editors_of_send(send_id: int, occasion: str) -> int:
    """Email the editors who asked for it that a send finished, is stuck, or was paused."""
    from newsletter.models import NewsletterSend

    send = NewsletterSend.objects.select_related("post").filter(pk=send_id).first()
    if send is None:
        return 0
    return services.notify_editors_of_send(send=send, occasion=occasion)


@task()
def send_referral_rewards(user_id: int) -> int:
    """Send the referral milestone rewards a reader has reached (newsletter.referrals)."""
    from newsletter.referrals import send_referral_rewards

    return send_referral_rewards(user_id=user_id)
