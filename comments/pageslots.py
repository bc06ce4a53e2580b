"""The comments' places on a logged-in reader's post page (posts.pagecache).

What the page needs to know about the reader comes with its one query (comments_reader_state,
migration comments 0002): whether they are banned or have a comment awaiting review (then
their page is rendered in full), whether they want reply emails (the comment form's checkbox)
and which of the post's comments they liked. Their own comments are rendered for them on every
request (edit window); the ones they liked, and the checkbox, once per page version."""

from dataclasses import dataclass

from django.template.loader import render_to_string

from comments.forms import CommentForm
from comments.models import Commenter
from posts import pagecache


@dataclass(frozen=True)
class CommentState:
    notify_replies: bool
    likes: frozenset  # ids of the post's comments they liked


def read_state(values: tuple) -> pagecache.ReaderFacts:
    banned, notify_replies, waiting, likes = values
    return pagecache.ReaderFacts(
        render_in_full=bool(banned or waiting),
        state=CommentState(notify_replies=bool(notify_replies), likes=frozenset(likes or ())),
    )


def _mine(page) -> dict:
    """The reader's own and liked comments on this page (worked out once per request)."""
    mine = page.memo.get("comments")
    if mine is None:
        me = page.request.user.pk  # read once: request.user is a lazy proxy
        authors = {}
        for args in page.args_of("comment"):
            pk, author = args.split(":")
            authors[int(pk)] = int(author) if author.isdigit() else None
        state = page.facts("comments").state
        likes = state.likes if state else frozenset()
        mine = page.memo["comments"] = {
            "own": {pk for pk, author in authors.items() if author == me},
            "liked": {pk for pk in likes if pk in authors},
            "articles": None,
        }
    return mine


def _articles(page, mine) -> dict[int, str]:
    """The reader's own and liked comments on this page, rendered for them."""
    if mine["articles"] is None:
        from comments import selectors
        from comments.models import Comment
        from comments.services import participation

        user, post = page.request.user, page.post
        state = page.facts("comments").state
        notify = bool(state and state.notify_replies)
        part = participation(
            post=post, user=user, commenter=Commenter(user=user, notify_replies=notify)
        )
        form = CommentForm(post=post, initial={"notify_replies": part.notify_replies})
        wanted = mine["own"] | mine["liked"]
        comments = list(Comment.objects.filter(pk__in=wanted).select_related("author"))
        selectors.decorate(comments, user=user, liked=set(mine["liked"]), post=post)
        mine["articles"] = {
            comment.pk: render_to_string(
                "comments/partials/_article.html",
                {"comment": comment, "post": post, "part": part, "form": form},
                request=page.request,
            )
            for comment in comments
        }
    return mine["articles"]


def fill_comment(page, args: str, default: bytes) -> bytes:
    pk = int(args.split(":")[0])
    mine = _mine(page)
    if pk in mine["own"]:
        # Edit and delete buttons, and an edit window closing by the minute: never kept.
        html = _articles(page, mine).get(pk)
        return page.made(html) if html else default
    if pk in mine["liked"]:
        return page.kept(f"liked:{pk}", lambda: _articles(page, mine).get(pk, default.decode()))
    return default


def fill_notify(page, field_id: str, default: bytes) -> bytes:
    """The new comment form's "email me replies" box, as the reader last chose."""
    state = page.facts("comments").state
    checked = bool(state and state.notify_replies)
    return page.kept(
        f"notify:{field_id}:{checked:d}",
        lambda: render_to_string(
            "comments/partials/_notify_field.html",
            {
                "field_id": field_id,
                "checked": checked,
                "label": CommentForm.base_fields["notify_replies"].label,
            },
        ),
    )


def register() -> None:
    pagecache.register_slot("comment", fill_comment)
    pagecache.register_slot("notify", fill_notify)
    pagecache.register_reader_state(
        "comments", function="comments_reader_state", columns=4, read=read_state
    )
