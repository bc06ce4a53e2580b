"""A task for the worker tests: it sends one email, so a task run twice shows as two messages.

The real newsletter send replaces it after merge; the shape (one task per recipient batch, any
worker may take any task) is the same.
"""

import time

from django.core.mail import send_mail
from django_tasks import task


@task()
def deliver(address: str) -> str:
    send_mail("Test delivery", "One message per reader.", None, [address])
    # Long enough that one worker cannot drain the queue before the other polls again.
    time.sleep(0.05)
    return address
