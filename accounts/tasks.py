"""Background tasks of accounts: thin wrappers that call the services.

Enqueue them through `transaction.on_commit` so a worker never looks for rows that are not
committed yet.
"""

from django_tasks import task


@task()
def purge_sessions(user_id: int) -> int:
    """Remove the stored sessions of a deleted account."""
    from accounts.services import purge_sessions

    return purge_sessions(user_id=user_id)
