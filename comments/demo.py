"""Demo discussion for `manage.py seed_demo`: lively threads with replies, likes and an editor's
answer. Running it again adds nothing: a post that already has demo comments is left alone."""

from datetime import timedelta

from django.utils import timezone

from comments.models import Comment, Commenter, CommentLike

E = "editor"

# (who, text, likes, replies). who is an index into the demo readers, or E for the editor.
FOUR_DAY_WEEK = [
    (
        0,
        "We moved to a four-day week at our design studio last spring. The surprise for me was "
        "not the extra day off, it was how much sharper Monday meetings became once everyone "
        "knew the week was shorter.",
        5,
        [
            (
                1,
                "Same here, but only after we scrapped the weekly status call. For the first two "
                "months we just squeezed five days of meetings into four and everyone was "
                "exhausted.",
                3,
                [
                    (
                        0,
                        "Yes, the meeting tax the post mentions is real. We now write updates in "
                        "a shared doc on Thursdays and only meet when something is blocked.",
                        2,
                        [
                            (
                                3,
                                "How do you stop the shared doc from turning into a second inbox "
                                "nobody reads?",
                                1,
                                [
                                    (
                                        0,
                                        "Three lines per person, max, and the team lead reads it "
                                        "out loud on Monday. Short enough that people actually "
                                        "write it.",
                                        2,
                                        [],
                                    ),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
            (
                E,
                "Thanks for sharing this. We are collecting reader experiences for a follow-up "
                "piece: if your team tried a shorter week and went back, we would especially "
                "like to hear why.",
                4,
                [],
            ),
        ],
    ),
    (
        2,
        "I work in a hospital lab. A compressed week is not an option for us, but a rota where "
        "each of us gets one weekday off every other week has made a real difference to burnout.",
        6,
        [
            (
                4,
                "That matches what the post says about shift work. Did the rota need extra hires?",
                1,
                [
                    (
                        2,
                        "Two part-time technicians. Management grumbled about the cost until sick "
                        "leave dropped over the winter.",
                        3,
                        [],
                    ),
                ],
            ),
        ],
    ),
    (
        5,
        "Selection bias deserves more attention. Companies that volunteer for a trial are the "
        "ones already confident it will work. I would like to see results from firms that were "
        "required to try it. There is a good overview at https://example.org/four-day-week-data "
        "if anyone wants the raw numbers.",
        2,
        [
            (
                1,
                "Fair point, although the collective agreements the post mentions are exactly "
                "that kind of test. Give it a couple of years.",
                1,
                [],
            ),
        ],
    ),
    (
        3,
        "Honest question: does a four-day week just mean longer days? Ten hours on Monday to "
        "Thursday sounds worse to me than eight hours on five days.",
        1,
        [],
    ),
]

HEAT_PUMPS = [
    (
        4,
        "We put in a heat pump last year and insulated the loft at the same time. The pump "
        "installer said the insulation let them fit a smaller unit, which paid for half the "
        "loft work.",
        4,
        [
            (
                2,
                "Useful to know. Was the smaller unit noticeably quieter too?",
                0,
                [(4, "Yes. You hear it only when you stand right next to it.", 1, [])],
            ),
        ],
    ),
    (
        1,
        "Our local substation upgrade was scheduled for 2031. That is the real bottleneck and "
        "it gets almost no attention.",
        3,
        [
            (
                E,
                "Agreed, and it is a story we want to cover. If you know of a network operator "
                "publishing its upgrade queue openly, please tell us.",
                2,
                [],
            ),
        ],
    ),
]

GENERIC = [
    (
        0,
        "Clear and balanced, thank you. I would love a follow-up on what readers outside big "
        "cities are seeing.",
        2,
        [(E, "Noted. That is on our list for a future issue.", 1, [])],
    ),
    (3, "Shared this with my team; it sparked a good discussion over lunch.", 1, []),
]

THREADS = {
    "four-day-week-after-the-pilots": FOUR_DAY_WEEK,
    "heat-pumps-and-the-grid": HEAT_PUMPS,
}


def _count(specs) -> int:
    return sum(1 + _count(replies) for _who, _text, _likes, replies in specs)


def _create(specs, *, post, readers, editor, parent, clock, likes_by):
    for who, text, likes, replies in specs:
        author = editor if who == E else readers[who % len(readers)]
        clock[0] += timedelta(minutes=17)
        comment = Comment(
            post=post,
            author=author,
            body=text,
            parent=parent,
            root=(parent.root or parent) if parent else None,
            depth=parent.depth + 1 if parent else 0,
            created_at=clock[0],
        )
        comment.save()
        fans = [r for r in readers if r.pk != author.pk][:likes]
        likes_by.extend(CommentLike(comment=comment, user=fan) for fan in fans)
        comment.like_count = len(fans)
        comment.save(update_fields=["like_count"])
        _create(
            replies,
            post=post,
            readers=readers,
            editor=editor,
            parent=comment,
            clock=clock,
            likes_by=likes_by,
        )


def seed(*, posts, readers, editor) -> None:
    """Add demo discussions to the demo posts that have none yet."""
    if not posts or not readers:
        return
    for reader in readers:
        Commenter.objects.get_or_create(
            user=reader, defaults={"is_trusted": True, "notify_replies": reader == readers[0]}
        )
    Commenter.objects.get_or_create(user=editor, defaults={"is_trusted": True})
    chosen = [(p, THREADS[p.slug]) for p in posts if p.slug in THREADS]
    if not chosen:
        chosen = [(posts[0], FOUR_DAY_WEEK)]
    chosen += [(p, GENERIC) for p in posts if p.slug not in THREADS][:1]
    for post, specs in chosen:
        if Comment.objects.filter(post=post).exists():
            continue
        start = max(
            post.published_at or timezone.now(),
            timezone.now() - timedelta(minutes=17 * (_count(specs) + 1)),
        )
        likes = []
        _create(
            specs,
            post=post,
            readers=readers,
            editor=editor,
            parent=None,
            clock=[start],
            likes_by=likes,
        )
        CommentLike.objects.bulk_create(likes, ignore_conflicts=True)
