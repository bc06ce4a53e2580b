from django.core.management.base import BaseCommand
from django.db import transaction

from posts.models import Post


class Command(BaseCommand):
    help = (
        "Clean post covers again and remake their WebP renditions: for covers stored before "
        "renditions existed, or after POSTS_IMAGE_WIDTHS changed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            help="Rebuild every cover, not only those without renditions.",
        )

    def handle(self, *args, all=False, **options):  # noqa: A002 (the option's name)
        posts = Post.objects.exclude(cover="")
        if not all:
            posts = posts.filter(cover_renditions=[])
        done = failed = 0
        for post in posts.iterator():
            try:
                with transaction.atomic():
                    post.rebuild_cover()
                done += 1
            except Exception as error:  # one bad file must not stop the rest
                failed += 1
                self.stderr.write(f"{post.slug}: {error}")
        self.stdout.write(self.style.SUCCESS(f"Rebuilt {done} cover(s); {failed} failed."))
