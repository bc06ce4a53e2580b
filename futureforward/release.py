"""`python -m futureforward.release`: the release step, run once per deploy before new code serves.

1. `migrate`, then `createcachetable` (the PostgreSQL cache, used when REDIS_URL is unset),
   holding a PostgreSQL advisory lock, so two release steps started at once (two machines, a
   retried deploy) run one after the other instead of racing on the schema.
2. `collectstatic`: WhiteNoise serves static files from STATIC_ROOT on each web machine, so this
   must run where the web processes run (or into the image they run from). `--static-only`
   does just this part and needs no database connection; `--no-static` skips it, for images
   whose static files were collected when they were built.
"""

import os
import sys

# Any fixed number shared by every release step of this project.
RELEASE_LOCK_ID = 4_216_001


def migrate() -> None:
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [RELEASE_LOCK_ID])
    try:
        call_command("migrate", interactive=False)
        call_command("createcachetable")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RELEASE_LOCK_ID])


def collect_static() -> None:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "futureforward.settings")
    import django

    django.setup()
    unknown = set(argv) - {"--static-only", "--no-static"}
    if unknown or len(argv) > 1:
        print(__doc__, file=sys.stderr)
        return 2
    if "--static-only" not in argv:
        migrate()
    if "--no-static" not in argv:
        collect_static()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
