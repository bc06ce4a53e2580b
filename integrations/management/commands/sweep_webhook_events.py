from django.core.management.base import BaseCommand

from integrations.services import sweep_events


class Command(BaseCommand):
    help = (
        "Announce to webhooks the scheduled posts that went live and the polls that closed by "
        "themselves, once (the task workers already do this every minute)."
    )

    def handle(self, *args, **options):
        count = sweep_events()
        self.stdout.write(f"{count} event(s) announced.")
