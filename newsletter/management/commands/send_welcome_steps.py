"""Send the welcome series steps that are due, for a cron job beside (or instead of) the task
chain: safe to run at any time and alongside workers, as every step is claimed with a lock."""

from django.core.management.base import BaseCommand

from newsletter.welcome import run_due


class Command(BaseCommand):
    help = "Send the welcome series emails that are due."

    def handle(self, *args, **options):
        outcomes = run_due(worker_id="send_welcome_steps")
        summary = ", ".join(f"{name}: {n}" for name, n in sorted(outcomes.items())) or "nothing due"
        self.stdout.write(summary)
