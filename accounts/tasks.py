"""Background tasks of accounts: thin wrappers that call the services.

Enqueue them through `transaction.on_commit` when they read rows the current transaction
writes, so a worker never looks for rows that are not committed yet.
"""

from django_tasks import task


@task()
def purge_sessions(user_id: int) -> int:
    """Remove the stored sessions of a deleted account."""
    from accounts.services import purge_sessions

    return purge_sessions(user_id=user_id)


@task()
def subscribe_and_send_code(
    email: str,
    source: str,
    code: str,
    lists: list[str] | None = None,
    referral: str = "",
    network: str = "",
) -> None:
    """Make or find the reader for a subscribe request and email them its login code.

    The code travels in the task's arguments (and so stays in the task table): it is worth
    nothing outside the browser session that asked for it, expires within minutes
    (ACCOUNT_LOGIN_BY_CODE_TIMEOUT) and allows three tries.
    """
    from accounts.services import subscribe_and_send_code

    subscribe_and_send_code(
        email=email, source=source, code=code, lists=lists, referral=referral, network=network
    )
