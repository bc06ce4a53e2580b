"""The polls' places on a logged-in reader's post page (posts.pagecache): the reader's votes
come with the page's one query (polls_reader_state, migration polls 0004), and each poll
is rendered once per page version and per vote, then kept."""

from django.template import Context

from polls.templatetags.polls_tags import post_poll
from posts import pagecache


def read_state(values: tuple) -> pagecache.ReaderFacts:
    """polls_reader_state's row: the reader's votes on the post as 'poll:choice' texts."""
    (votes,) = values
    chosen = dict(tuple(int(n) for n in vote.split(":")) for vote in votes or ())
    return pagecache.ReaderFacts(state=chosen)


def fill_poll(page, placement: str, default: bytes) -> bytes:
    chosen = page.facts("polls").state or {}
    votes = ",".join(f"{poll}={choice}" for poll, choice in sorted(chosen.items()))
    return page.kept(
        f"poll:{placement}:{votes}",
        lambda: str(post_poll(Context({"request": page.request}), page.post, placement)),
    )


def register() -> None:
    pagecache.register_slot("poll", fill_poll)
    pagecache.register_reader_state(
        "polls", function="polls_reader_state", columns=1, read=read_state
    )
