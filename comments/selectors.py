"""Reading a discussion: a page of threads, or one thread, assembled from a fixed number of
queries however many comments there are (see the tree notes in comments/models.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.http import Http404
from django.utils import timezone

from comments.models import Comment, CommentLike

PAGE_SIZE = 20
# Levels shown inline: a comment, its replies and their replies. Deeper replies continue on
# the thread page of the last shown comment.
LEVELS = 3

SORTS = {
    Comment.Sort.NEWEST: ("-created_at", "-id"),
    Comment.Sort.OLDEST: ("created_at", "id"),
    Comment.Sort.TOP: ("-like_count", "-created_at", "-id"),
}
DEFAULT_SORT = Comment.Sort.NEWEST


def clean_sort(value) -> str:
    """Return a known sort key, falling back to the default for anything else."""
    return value if value in SORTS else DEFAULT_SORT


def clean_page(value) -> int:
    """Return a page number of at least 1 from untrusted input."""
    try:
        return max(1, min(int(value), 10_000))
    except (TypeError, ValueError):
        return 1


@dataclass
class DiscussionPage:
    post: object
    sort: str
    page: int
    comments: list[Comment] = field(default_factory=list)
    has_next: bool = False

    @property
    def next_page(self) -> int:
        return self.page + 1


def _decorate(comments: list[Comment], *, user, liked: set[int], post=None) -> None:
    now = timezone.now()
    for comment in comments:
        if post is not None:
            comment.post = post  # one post object for all, so permalinks cost no query
        comment.readable = comment.is_readable_by(user)
        comment.is_own = user.is_authenticated and comment.author_id == user.pk
        comment.liked = comment.pk in liked
        comment.can_edit = comment.readable and comment.is_editable_by(user, now=now)
        comment.can_delete = comment.is_deletable_by(user)
        comment.children = []
        comment.continue_thread = False


def decorate(comments: list[Comment], *, user, liked: set[int], post) -> None:
    """Give comments what their templates ask of a viewer (may they edit it, did they like it)
    when they are rendered outside a discussion page (posts/pagecache/)."""
    _decorate(comments, user=user, liked=liked, post=post)
    for comment in comments:
        comment.level = 0


def _liked_ids(user, ids: list[int]) -> set[int]:
    if not user.is_authenticated or not ids:
        return set()
    return set(
        CommentLike.objects.filter(user=user, comment_id__in=ids).values_list(
            "comment_id", flat=True
        )
    )


def _attach(node: Comment, by_parent: dict, *, level: int) -> bool:
    """Fill node.children from by_parent, down to LEVELS levels; return True if node shows.

    A comment the viewer may not read still shows, as a placeholder, when a reply under it does:
    that is how a thread keeps its shape around deleted and removed comments."""
    node.level = level
    kids = sorted(by_parent.get(node.pk, ()), key=lambda c: (c.created_at, c.pk))
    if level + 1 >= LEVELS:
        # The next level is not shown here; link to the thread page if anything is there.
        # Someone else's held reply is the only kind that can neither show nor have replies.
        node.continue_thread = any(
            kid.readable or kid.status != Comment.Status.HELD for kid in kids
        )
    else:
        node.children = [kid for kid in kids if _attach(kid, by_parent, level=level + 1)]
    return node.readable or bool(node.children) or node.continue_thread


def discussion_page(*, post, user, sort: str = DEFAULT_SORT, page: int = 1) -> DiscussionPage:
    """Return one page of post's top-level comments, each with its replies attached.

    Queries: the page's top-level comments, all their replies down to the shown depth, and the
    viewer's likes among them. Three, whether the post has 3 comments or 3,000."""
    sort = clean_sort(sort)
    page = clean_page(page)
    offset = (page - 1) * PAGE_SIZE
    roots = list(
        Comment.objects.roots_for(post=post, user=user).order_by(*SORTS[sort])[
            offset : offset + PAGE_SIZE + 1
        ]
    )
    result = DiscussionPage(post=post, sort=sort, page=page, has_next=len(roots) > PAGE_SIZE)
    roots = roots[:PAGE_SIZE]
    if not roots:
        return result
    replies = list(
        Comment.objects.filter(root_id__in=[r.pk for r in roots], depth__lte=LEVELS)
        .select_related("author")
        .order_by()
    )
    everything = roots + replies
    _decorate(everything, user=user, liked=_liked_ids(user, [c.pk for c in everything]), post=post)
    by_parent = defaultdict(list)
    for reply in replies:
        by_parent[reply.parent_id].append(reply)
    for root in roots:
        # The roots query already decided these show (placeholders included).
        _attach(root, by_parent, level=0)
    result.comments = roots
    return result


def thread(*, post, user, pk: int) -> Comment:
    """Return comment pk of post with its replies attached, for the thread page.

    Raises Http404 when the viewer may not see it (someone else's held comment, say)."""
    target = (
        Comment.objects.filter(post=post, pk=pk).select_related("author", "parent__author").first()
    )
    if target is None:
        raise Http404
    below = list(
        Comment.objects.filter(
            root_id=target.root_id or target.pk,
            depth__gt=target.depth,
            depth__lte=target.depth + LEVELS,
        )
        .select_related("author")
        .order_by()
    )
    everything = [target, *below]
    _decorate(everything, user=user, liked=_liked_ids(user, [c.pk for c in everything]), post=post)
    by_parent = defaultdict(list)
    for reply in below:
        by_parent[reply.parent_id].append(reply)
    if not _attach(target, by_parent, level=0):
        raise Http404
    if target.parent is not None:
        target.parent.post = post
    return target


def prepare(comment: Comment, *, user) -> Comment:
    """Decorate one comment for its fragment (after an edit, a like, a new reply)."""
    _decorate([comment], user=user, liked=_liked_ids(user, [comment.pk]))
    comment.level = 0
    return comment


def discussion_context(
    *, post, user, sort: str = DEFAULT_SORT, page: int = 1, page_needed: bool = True
) -> dict:
    """Return the template context for a post's discussion section (or its thread page)."""
    from comments.forms import CommentForm
    from comments.services import participation, refusal_message

    part = participation(post=post, user=user)
    context = {
        "post": post,
        "part": part,
        "refusal": refusal_message(part),
        "sorts": Comment.Sort.choices,
        "count": Comment.objects.filter(post=post).public().count(),
        "form_next": post.get_absolute_url() + "#comment-form",
    }
    if part.can_write:
        context["form"] = CommentForm(post=post, initial={"notify_replies": part.notify_replies})
    if page_needed:
        context["page"] = discussion_page(post=post, user=user, sort=sort, page=page)
    return context
