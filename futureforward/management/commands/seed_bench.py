"""`manage.py seed_bench`: the realistic data set `make bench` measures, seeded in seconds.

200 published posts; a "big" post whose poll of 5 choices has 20,000 votes from 20,000 readers
and whose discussion has 1,000 comments in threads; a "small" post with a poll, a few votes and
3 comments; 100,000 active subscribers (reader, verified address, active subscription). Every
count is an option, so the harness can also seed a small data set for its query counts.

Rows are written with INSERT ... SELECT generate_series and bulk_create, never one by one.
Every bench row is marked (posts and tags `ffbench-*`, readers `*@bench.example`), so `--reset`
removes exactly those, with whatever rows hang off them, and leaves the rest of the database
alone.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Subscription, User
from comments.models import Comment, Commenter, CommentLike
from polls.models import Choice, Poll, Vote
from posts.models import Post, Tag, ThumbsUp
from posts.richtext import html_to_text, opening_html, reading_minutes, sanitize_body

READER_DOMAIN = "bench.example"
POST_PREFIX = "ffbench-"
BIG_SLUG = "ffbench-big-post"
SMALL_SLUG = "ffbench-small-post"
EDITORS = 3
TAGS = ["Work", "Economy", "Energy", "Cities", "Technology", "AI"]
CHOICES = ["Very hopeful", "Somewhat hopeful", "Not sure", "Somewhat worried", "Very worried"]
# The big poll's votes lean one way, as real polls do.
CHOICE_WEIGHTS = [34, 27, 16, 14, 9]

VOCABULARY = (
    "work week hours pilot trial data evidence firms staff revenue productivity burnout "
    "city street housing rent transit energy grid heat pump battery solar wind price cost "
    "model machine learning tool software team meeting office remote policy market wage "
    "growth inflation climate future change people survey result question answer risk "
    "benefit research report study sector service clinic warehouse shift rota schedule"
)
WORDS = VOCABULARY.split()


def reader_email(n: int) -> str:
    """Return the address of bench reader n (1-based), as the seed writes it."""
    return f"reader{n:06d}@{READER_DOMAIN}"


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _body(rng: random.Random, paragraphs: int) -> str:
    parts = []
    for index in range(paragraphs):
        if index and index % 4 == 0:
            parts.append(f"<h2>{_sentence(rng, 4)[:-1]}</h2>")
        sentences = " ".join(_sentence(rng, rng.randint(9, 22)) for _ in range(rng.randint(3, 6)))
        parts.append(f"<p>{sentences}</p>")
    return "".join(parts)


class Command(BaseCommand):
    help = (
        "Seed the benchmark data set (200 posts, a poll with 20,000 votes, 1,000 comments, "
        "100,000 subscribers). Development databases only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Delete bench rows first.")
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)."
        )
        parser.add_argument("--posts", type=int, default=200)
        parser.add_argument("--subscribers", type=int, default=100_000)
        parser.add_argument("--votes", type=int, default=20_000, help="Votes on the big poll.")
        parser.add_argument("--comments", type=int, default=1_000, help="Comments on the big post.")
        parser.add_argument("--thumbs-up", type=int, default=3_000, help="On the big post.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_bench writes 100,000 fake readers: it only runs with DEBUG on "
                "(a development database). Pass --force if this really is a scratch database."
            )
        subscribers = options["subscribers"]
        if options["votes"] > subscribers:
            raise CommandError("--votes cannot exceed --subscribers: each vote has its reader.")
        if subscribers < 10:
            raise CommandError("--subscribers must be at least 10 (the small post needs readers).")
        if options["posts"] < 2:
            raise CommandError("--posts must be at least 2 (the big and the small post).")
        started = time.perf_counter()
        if options["reset"]:
            deleted = reset()
            what = "bench tables emptied" if deleted < 0 else f"{deleted:,} bench rows deleted"
            self.stdout.write(f"Reset: {what} in {time.perf_counter() - started:.1f} s.")
        elif Post.objects.filter(slug=BIG_SLUG).exists():
            self.stdout.write("The bench data set is already there (use --reset to seed again).")
            return
        seeding = time.perf_counter()
        with transaction.atomic():
            summary = seed(
                posts=options["posts"],
                subscribers=subscribers,
                votes=options["votes"],
                comments=options["comments"],
                thumbs_up=min(options["thumbs_up"], subscribers),
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        seconds = time.perf_counter() - seeding
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {summary} in {seconds:.1f} s "
                f"(total with reset {time.perf_counter() - started:.1f} s)."
            )
        )


# --- Reset ------------------------------------------------------------------------------------


def _foreign_keys_to(cursor, table: str) -> list[tuple[str, list[str], list[str]]]:
    """Return (table, columns, referenced columns) for every foreign key pointing at table."""
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text,
               ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                     ORDER BY k.i),
               ARRAY(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
                     ORDER BY k.i)
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.confrelid = %s::regclass
        """,
        [table],
    )
    return [(row[0], list(row[1]), list(row[2])) for row in cursor.fetchall()]


def _delete_cascade(cursor, table: str, where: str, params: list, seen: tuple = ()) -> int:
    """Delete the rows of table matching where, and first every row that points at them.

    The database's own foreign keys say what points where, so tables added later (or by other
    apps) are covered too. A table pointing at itself (comment replies) loses those rows in the
    same statement, which the deferred constraints allow.
    """
    qn = connection.ops.quote_name
    deleted = 0
    for ref_table, columns, ref_columns in _foreign_keys_to(cursor, table):
        if ref_table == table or ref_table in seen:
            continue
        cols = ", ".join(qn(c) for c in columns)
        ref_cols = ", ".join(qn(c) for c in ref_columns)
        sub_where = f"({cols}) IN (SELECT {ref_cols} FROM {qn(table)} WHERE {where})"  # noqa: S608  # nosec
        deleted += _delete_cascade(cursor, ref_table, sub_where, params, (*seen, table))
    cursor.execute(f"DELETE FROM {qn(table)} WHERE {where}", params)  # noqa: S608  # nosec
    return deleted + cursor.rowcount


@transaction.atomic
def reset() -> int:
    """Delete every bench post and bench reader with everything that hangs off them; return
    how many rows went (-1 when whole tables were emptied)."""
    with connection.cursor() as cursor:
        if _only_bench_rows():
            # A database holding nothing but the bench set (the harness's own): emptying the
            # tables is a second where deleting 300,000 rows one foreign key check at a time
            # takes half a minute. CASCADE reaches every table that points at them.
            tables = [User, Post, Tag]
            names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in tables)
            cursor.execute(f"TRUNCATE {names} CASCADE")
            deleted = -1
        else:
            deleted = _delete_cascade(
                cursor, Post._meta.db_table, "slug LIKE %s", [POST_PREFIX + "%"]
            )
            deleted += _delete_cascade(
                cursor, Tag._meta.db_table, "slug LIKE %s", [POST_PREFIX + "%"]
            )
            deleted += _delete_cascade(
                cursor, User._meta.db_table, "email LIKE %s", ["%@" + READER_DOMAIN]
            )
    return deleted


def _only_bench_rows() -> bool:
    return not (
        Post.objects.exclude(slug__startswith=POST_PREFIX).exists()
        or Tag.objects.exclude(slug__startswith=POST_PREFIX).exists()
        or User.objects.exclude(email__endswith="@" + READER_DOMAIN).exists()
    )


# --- Seed -------------------------------------------------------------------------------------


def _seed_people(*, subscribers: int, now) -> tuple[list[User], list[int]]:
    """Create the editors, then the readers with verified addresses and active subscriptions
    straight in SQL; return the editors and the readers' ids in order."""
    editors = User.objects.bulk_create(
        [
            User(
                email=f"editor{n}@{READER_DOMAIN}",
                display_name=name,
                is_staff=True,
                password="!" + "bench-editor",  # unusable ("!"): nobody logs in as them
                bio="Writes about the future of work and cities.",
            )
            for n, name in enumerate(["Ada Marsh", "Ben Okoro", "Chen Liu"][:EDITORS], 1)
        ]
    )
    user, address, subscription = (
        User._meta.db_table,
        EmailAddress._meta.db_table,
        Subscription._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {user} (password, is_superuser, is_staff, is_active, date_joined,
                                email, display_name, bio, avatar)
            SELECT '!' || md5(n::text || random()::text), false, false, true,
                   %(now)s - (n %% 700) * interval '1 hour',
                   'reader' || lpad(n::text, greatest(6, length(n::text)), '0') || %(domain)s,
                   CASE WHEN n %% 3 = 0 THEN '' ELSE 'Reader ' || n END, '', ''
            FROM generate_series(1, %(n)s) AS n
            ORDER BY n
            RETURNING id
            """,  # noqa: S608 (table names from _meta; values are parameters)  # nosec
            {"now": now, "n": subscribers, "domain": "@" + READER_DOMAIN},
        )
        reader_ids = sorted(row[0] for row in cursor.fetchall())
        readers = {"pattern": f"reader%@{READER_DOMAIN}", "active": Subscription.Status.ACTIVE}
        cursor.execute(
            f"""
            INSERT INTO {address} (user_id, email, verified, "primary")
            SELECT id, email, true, true FROM {user} WHERE email LIKE %(pattern)s
            """,  # noqa: S608  # nosec
            readers,
        )
        cursor.execute(
            f"""
            INSERT INTO {subscription} (user_id, status, status_reason, source, created_at,
                                        confirmed_at)
            SELECT id, %(active)s, '', 'bench', date_joined, date_joined
            FROM {user} WHERE email LIKE %(pattern)s
            """,  # noqa: S608  # nosec
            readers,
        )
    return editors, reader_ids


def _seed_posts(*, count: int, editors: list[User], now, rng: random.Random) -> list[Post]:
    tags = Tag.objects.bulk_create(
        [
            Tag(name=f"{name} (bench)", slug=f"{POST_PREFIX}{name.lower()}", description=name)
            for name in TAGS
        ]
    )
    # A few dozen distinct bodies are as realistic to render as 200, and much faster to clean.
    bodies = []
    for _ in range(min(count, 24)):
        body = sanitize_body(_body(rng, rng.randint(10, 16)))
        text = html_to_text(body)
        bodies.append((body, text, opening_html(body), reading_minutes(text)))
    posts = []
    for n in range(count):
        if n == 0:
            slug, title = BIG_SLUG, "The four-day week after the pilots"
        elif n == 1:
            slug, title = SMALL_SLUG, "A quiet note on heat pumps"
        else:
            slug, title = f"{POST_PREFIX}post-{n:03d}", _sentence(rng, rng.randint(4, 9))[:-1]
        body, text, opening, minutes = bodies[n % len(bodies)]
        posts.append(
            Post(
                title=title,
                slug=slug,
                subtitle=_sentence(rng, rng.randint(8, 14)),
                body=body,
                body_text=text,
                body_opening=opening,
                reading_minutes=minutes,
                daily_takeaway=_sentence(rng, 20),
                status=Post.Status.PUBLISHED,
                published_at=now - timedelta(hours=6 + 30 * n),
                is_featured=n == 0,
            )
        )
    posts = Post.objects.bulk_create(posts)
    Post.tags.through.objects.bulk_create(
        Post.tags.through(post_id=post.pk, tag_id=tag.pk)
        for index, post in enumerate(posts)
        for tag in {tags[index % len(tags)], tags[(index * 7 + 3) % len(tags)]}
    )
    Post.authors.through.objects.bulk_create(
        Post.authors.through(post_id=post.pk, user_id=editor.pk)
        for index, post in enumerate(posts)
        for editor in {editors[index % len(editors)], editors[(index // 3) % len(editors)]}
    )
    return posts


def _seed_poll(*, post: Post, question: str, results_first: bool) -> tuple[Poll, list[Choice]]:
    poll = Poll.objects.create(
        post=post, question=question, show_results_before_voting=results_first
    )
    choices = Choice.objects.bulk_create(
        Choice(poll=poll, text=text, position=position) for position, text in enumerate(CHOICES)
    )
    return poll, choices


def _seed_votes(*, poll: Poll, choices: list[Choice], readers: int, now) -> None:
    """One vote from each of the first `readers` readers, in weighted proportions, in SQL."""
    if not readers:
        return
    bounds, total = [], 0
    for weight in CHOICE_WEIGHTS:
        total += weight
        bounds.append(total)
    case = " ".join(
        f"WHEN r.n %% {total} < {bound} THEN {choice.pk}"
        for bound, choice in zip(bounds, choices, strict=True)
    )
    vote, user = Vote._meta.db_table, User._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {vote} (poll_id, choice_id, user_id, created_at, updated_at)
            SELECT %(poll)s, CASE {case} END, r.id, %(now)s - r.n * interval '7 seconds',
                   %(now)s - r.n * interval '7 seconds'
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM {user}
                  WHERE email LIKE %(pattern)s ORDER BY id LIMIT %(limit)s) r
            """,  # noqa: S608  # nosec
            {"poll": poll.pk, "now": now, "limit": readers, "pattern": f"reader%@{READER_DOMAIN}"},
        )


def _seed_comments(
    *, post: Post, count: int, reader_ids: list[int], now, rng: random.Random
) -> list[Comment]:
    """count comments on post: a quarter start threads, the rest reply, up to 5 levels deep,
    with likes in a long-tailed spread and a few deleted and held ones, as real discussions."""
    if not count:
        return []

    def comment(n: int, **fields) -> Comment:
        likes = min(len(reader_ids), int(rng.paretovariate(1.6)) - 1)
        made = Comment(
            post=post,
            author_id=rng.choice(reader_ids),
            body=_sentence(rng, rng.randint(6, 40)),
            like_count=likes,
            **fields,
        )
        if n % 97 == 7:
            made.deleted_at, made.body, made.like_count = now, "", 0
        elif n % 131 == 11:
            made.status, made.held_reason, made.like_count = Comment.Status.HELD, "first", 0
        return made

    roots_wanted = max(1, count // 4)
    level = Comment.objects.bulk_create(
        comment(n, created_at=now - timedelta(minutes=7 * (roots_wanted - n) + 30))
        for n in range(roots_wanted)
    )
    made: list[Comment] = list(level)
    depth = 1
    while len(made) < count:
        # Each level replies to a random sample of the one above; what is left goes deeper.
        remaining = count - len(made)
        size = remaining if depth >= 5 else min(remaining, max(1, int(len(level) * 0.9)))
        parents = [rng.choice(level) for _ in range(size)]
        level = Comment.objects.bulk_create(
            comment(
                len(made) + index,
                parent=parent,
                root_id=parent.root_id or parent.pk,
                depth=parent.depth + 1,
                created_at=parent.created_at + timedelta(minutes=rng.randint(1, 300)),
            )
            for index, parent in enumerate(parents)
        )
        made += level
        depth += 1
    CommentLike.objects.bulk_create(
        (
            CommentLike(comment=c, user_id=user_id)
            for c in made
            for user_id in rng.sample(reader_ids, c.like_count)
        ),
        batch_size=5000,
    )
    return made


def seed(*, posts: int, subscribers: int, votes: int, comments: int, thumbs_up: int) -> str:
    """Write the data set in one transaction; return a summary of what was made."""
    rng = random.Random(7)  # the same data set every run  # nosec
    now = timezone.now()
    editors, reader_ids = _seed_people(subscribers=subscribers, now=now)
    all_posts = _seed_posts(count=posts, editors=editors, now=now, rng=rng)
    big, small = all_posts[0], all_posts[1]

    big_poll, big_choices = _seed_poll(
        post=big, question="How do you feel about a four-day week?", results_first=True
    )
    _seed_votes(poll=big_poll, choices=big_choices, readers=votes, now=now)
    small_poll, small_choices = _seed_poll(
        post=small, question="Would you install a heat pump?", results_first=False
    )
    Vote.objects.bulk_create(
        Vote(poll=small_poll, choice=small_choices[n % 5], user_id=user_id)
        for n, user_id in enumerate(reader_ids[:7])
    )

    commenters = reader_ids[:5_000]
    big_comments = _seed_comments(post=big, count=comments, reader_ids=commenters, now=now, rng=rng)
    likes = sum(c.like_count for c in big_comments)
    small_root = Comment.objects.create(
        post=small,
        author_id=reader_ids[0],
        body="Ours has been quiet and cheap to run.",
        like_count=0,
    )
    Comment.objects.bulk_create(
        [
            Comment(
                post=small,
                author_id=reader_ids[1],
                body="How cold does it get where you live?",
                parent=small_root,
                root=small_root,
                depth=1,
            ),
            Comment(post=small, author_id=reader_ids[2], body="Installers are booked for months."),
        ]
    )
    author_ids = {c.author_id for c in big_comments} | set(reader_ids[:3])
    Commenter.objects.bulk_create(
        [Commenter(user_id=user_id, is_trusted=True) for user_id in author_ids],
        ignore_conflicts=True,
    )
    ThumbsUp.objects.bulk_create(
        (ThumbsUp(post=big, user_id=user_id) for user_id in reader_ids[:thumbs_up]),
        batch_size=5000,
    )
    return (
        f"{posts} posts, {subscribers:,} subscribers, {votes:,} votes and "
        f"{len(big_comments):,} comments ({likes:,} likes) on the big post"
    )
