from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import demo as accounts_demo
from analytics import demo as analytics_demo
from comments import demo as comments_demo
from newsletter import demo as newsletter_demo
from polls import demo as polls_demo
from posts import demo as posts_demo
from publication import demo as publication_demo


class Command(BaseCommand):
    help = "Load the demo publication. Safe to run again: existing demo rows are left as they are."

    @transaction.atomic
    def handle(self, *args, **options):
        publication_demo.seed()
        editor = accounts_demo.seed()
        readers = accounts_demo.seed_readers()
        posts = posts_demo.seed(editor=editor)
        polls = polls_demo.seed(posts=posts, readers=readers)
        newsletter_demo.seed(readers=readers, polls=polls)
        comments_demo.seed(posts=posts, readers=readers, editor=editor)
        analytics_demo.seed(posts=posts, readers=readers, editor=editor)
        self.stdout.write(self.style.SUCCESS(f"Demo content ready: {len(posts)} posts."))
        self.stdout.write(
            f"Editor login for /admin/: {editor.email}, with the one-time code emailed to it "
            "(in development the email is printed in this terminal). Password, when asked to "
            f"confirm a sensitive action: {accounts_demo.EDITOR_PASSWORD}"
        )
