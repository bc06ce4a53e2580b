from django.core.management.base import BaseCommand

from integrations.exports import tidy


class Command(BaseCommand):
    help = (
        "Mark prepared exports whose worker went quiet as failed, delete expired exports and "
        "their files, and prune old editor notices. The task workers do this around every "
        "export; run it from cron (daily is plenty) so a quiet site tidies too."
    )

    def handle(self, *args, **options):
        done = tidy()
        self.stdout.write(
            f"{done['stalled']} stalled export(s) marked failed, {done['expired']} expired "
            f"export(s) deleted, {done['pieces']} leftover piece(s) deleted, "
            f"{done['notices']} old editor notice(s) pruned."
        )
