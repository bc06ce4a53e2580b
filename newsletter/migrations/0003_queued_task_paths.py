# The newsletter's tasks moved from accounts.tasks to newsletter.tasks. django-tasks-db stores
# each queued task's dotted path, and a worker imports it when it runs the task: tasks queued
# before the upgrade (the batches and watchdog of a send in progress, a welcome email still
# waiting) would fail to import. Rewrite the paths of every task that has not finished yet;
# finished ones are history and keep the path they ran under.

from django.db import migrations

MOVED = ["send_batch", "watch_send", "send_welcome_email"]
UNFINISHED = ["READY", "RUNNING"]


def repoint(apps, *, old, new):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    for name in MOVED:
        DBTaskResult.objects.filter(task_path=f"{old}.{name}", status__in=UNFINISHED).update(
            task_path=f"{new}.{name}"
        )


def forwards(apps, schema_editor):
    repoint(apps, old="accounts.tasks", new="newsletter.tasks")


def backwards(apps, schema_editor):
    repoint(apps, old="newsletter.tasks", new="accounts.tasks")


class Migration(migrations.Migration):

    dependencies = [
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
        ("newsletter", "0002_content_types_from_accounts"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
