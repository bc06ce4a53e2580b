"""Comment workflows: writing, editing, deleting, liking, reporting, moderating and the reply
email. Views and admin actions call these; the rules live here once.

One module, though past 500 lines: every writer here touches the same rows (a comment, its
likes and reports, its author's record, the post's page version through the triggers) and they
must all take their locks in one order, which is easier to keep when they sit side by side.

The lock order
--------------
Every writer of a comment, its likes, its reports, a reader's record (``Commenter``), a post's
thumbs up or a poll's votes takes its locks in this order, and never reaches back up it:

1. **The comment rows it writes or relies on, in id order, before anything is written**
   (``_lock_comments``): a reply locks its parent, a like or unlike the liked comment, an edit
   or a delete its comment, moderation every comment it acts on. ``FOR NO KEY UPDATE``, never
   ``FOR UPDATE``: inserting a like, report or reply takes a key-share lock on the comment
   through its foreign key, which a full ``FOR UPDATE`` would block for no reason.
2. **Readers' records** (comments_commenter), in user id order.
3. **The rows the writer itself changes**: the likes, reports and comments it inserts, updates
   or deletes; a poll's choices in id order (the tally trigger); a thumbs up.
4. **Last, the page versions** (posts_pageversion), in key order. Nobody locks these by hand:
   the triggers (posts/pagecache/__init__.py) move them on at the end of *every* writing
   statement, after the tally triggers (trigger names sort them so).

Because step 4 happens at the end of each writing statement, step 1 must be a statement that
writes nothing (a ``SELECT ... FOR NO KEY UPDATE``). A writer whose first statement writes (a
like's delete, say) and whose second updates the comment already holds the page version when it
asks for the comment, the reverse of everyone else: that was the like/unlike deadlock. Writers
that are one statement (a report, a thumbs up, a top-level comment) follow the order by
themselves. ``tests/test_lock_order.py`` races every pair of writers on the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from comments.models import (
    MAX_LENGTH,
    Comment,
    Commenter,
    CommentLike,
    CommentReport,
    CommentSettings,
)
from comments.signals import comment_published
from comments.text import find_blocked, find_links, normalize
from publication.models import Publication

STOP_SALT = "comments.stop-reply-emails"
DUPLICATE_WINDOW = timedelta(minutes=2)
STOP_MAX_AGE = 60 * 60 * 24 * 90  # a stop link works for 90 days


class CommentError(Exception):
    """A request the discussion refuses, with a message for the reader and an HTTP status."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Participation:
    """What one viewer may do in one post's discussion, and why not when they may not."""

    can_read: bool
    can_write: bool
    reason: str  # "", "off", "closed", "anonymous", "unverified", "banned"
    can_report: bool = False
    ban_reason: str = ""
    notify_replies: bool = False


def participation(*, post, user, commenter: Commenter | None = None) -> Participation:
    """Return what user may do in post's discussion. Pass commenter if already loaded."""
    if post.comments_mode == post.CommentsMode.OFF:
        return Participation(can_read=False, can_write=False, reason="off")
    if commenter is None and user.is_authenticated:
        commenter = Commenter.for_user(user)
    banned = bool(commenter and commenter.is_banned)
    verified = bool(user.is_authenticated and user.can_participate)
    if post.comments_mode == post.CommentsMode.CLOSED:
        reason = "closed"
    elif not user.is_authenticated:
        reason = "anonymous"
    elif not verified:
        reason = "unverified"
    elif banned:
        reason = "banned"
    else:
        reason = ""
    return Participation(
        can_read=True,
        can_write=reason == "",
        reason=reason,
        # Reports stay open on closed posts: abuse does not stop being abuse.
        can_report=verified and not banned,
        ban_reason=commenter.ban_reason if banned else "",
        notify_replies=bool(commenter and commenter.notify_replies),
    )


def refusal_message(part: Participation) -> str:
    """Return the sentence that tells a reader why they cannot write here."""
    if part.reason == "off":
        return _("Comments are off for this post.")
    if part.reason == "closed":
        return _("Comments are closed for this post.")
    if part.reason == "anonymous":
        return _("Login or Subscribe to join the discussion.")
    if part.reason == "unverified":
        return _("Confirm your email address to join the discussion.")
    if part.reason == "banned":
        message = _("The editors have suspended your commenting on Future Forward.")
        if part.ban_reason:
            message += " " + _("Reason: %(reason)s") % {"reason": part.ban_reason}
        return message
    return ""


def _require_writer(*, post, user) -> Participation:
    part = participation(post=post, user=user)
    if not part.can_write:
        status = 404 if part.reason == "off" else 403
        raise CommentError(refusal_message(part), status=status)
    return part


def _lock_comments(ids: Iterable[int]) -> list[int]:
    """Lock the comments with these ids for the current transaction, in id order, writing
    nothing (step 1 of the lock order above); return the ids that exist."""
    return list(
        Comment.objects.filter(pk__in=list(ids))
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def hold_reasons(
    *,
    body: str,
    author,
    config: CommentSettings,
    commenter: Commenter | None,
    first_comment_check: bool = True,
) -> list[str]:
    """Return why a comment by author with this text must wait for review (empty: publish)."""
    if author.is_staff:
        return []
    reasons = []
    if (
        first_comment_check
        and config.hold_first_comments
        and not (commenter and commenter.is_trusted)
    ):
        reasons.append(_("first comment"))
    links = len(find_links(body))
    if links > config.max_links:
        reasons.append(_("%(count)d links") % {"count": links})
    blocked = find_blocked(body, config.blocked_word_list())
    if blocked:
        reasons.append(_("blocked words: %(words)s") % {"words": ", ".join(blocked)})
    return reasons


def _enqueue_reply_email(comment: Comment) -> None:
    from comments.tasks import send_reply_notification as send_reply_notification_task

    comment_id = comment.pk
    transaction.on_commit(lambda: send_reply_notification_task.enqueue(comment_id=comment_id))


@transaction.atomic
def add_comment(
    *, post, author, body: str, parent: Comment | None = None, notify_replies: bool | None = None
) -> Comment:
    """Create a comment or reply by author on post and return it, held when the rules say so.

    Raises CommentError when the author may not write here or the parent cannot be replied to.
    """
    _require_writer(post=post, user=author)
    body = normalize(body).strip()
    if not body:
        raise CommentError(_("Write something before posting."))
    if len(body) > MAX_LENGTH:
        raise CommentError(_("A comment can be at most 5,000 characters."))
    if parent is not None:
        # Lock the parent first (the lock order above), so an editor removing it at the same
        # moment cannot interleave. A no-key lock: likes being written for it need not wait.
        parent = Comment.objects.select_for_update(no_key=True).get(pk=parent.pk)
        if parent.post_id != post.pk:
            raise CommentError(_("That comment belongs to another post."))
        if not parent.accepts_replies():
            raise CommentError(
                _("You can't reply to this comment: it was removed, deleted or is awaiting review.")
            )
    # Locking the author's record serialises their own submissions, so a double click or a
    # resent form finds the comment the first request made instead of posting it twice.
    commenter, _created = Commenter.objects.select_for_update().get_or_create(user=author)
    duplicate = (
        Comment.objects.filter(
            post=post,
            author=author,
            parent=parent,
            body=body,
            deleted_at=None,
            created_at__gte=timezone.now() - DUPLICATE_WINDOW,
        )
        .order_by("-created_at")
        .first()
    )
    if duplicate is not None:
        return duplicate
    if notify_replies is not None and notify_replies != commenter.notify_replies:
        commenter.notify_replies = notify_replies
        commenter.save(update_fields=["notify_replies"])
    reasons = hold_reasons(
        body=body, author=author, config=CommentSettings.load(), commenter=commenter
    )
    comment = Comment(
        post=post,
        author=author,
        body=body,
        parent=parent,
        root=(parent.root or parent) if parent else None,
        depth=parent.depth + 1 if parent else 0,
        status=Comment.Status.HELD if reasons else Comment.Status.VISIBLE,
        held_reason="; ".join(reasons),
    )
    comment.save()
    if comment.is_public and parent is not None:
        _enqueue_reply_email(comment)
    if comment.status == Comment.Status.VISIBLE:
        _announce_published([comment])
    return comment


def _announce_published(comments: list[Comment]) -> None:
    """Send comment_published for each comment once the current transaction commits."""
    transaction.on_commit(
        lambda: [comment_published.send(sender=Comment, comment=c) for c in comments]
    )


@transaction.atomic
def edit_comment(*, comment: Comment, user, body: str) -> Comment:
    """Change the text of user's own comment within the edit window and return it.

    An edit that adds too many links or a blocked word sends the comment back for review."""
    comment = (
        Comment.objects.select_for_update(of=("self",), no_key=True)
        .select_related("post", "author")
        .get(pk=comment.pk)
    )
    if comment.author_id != user.pk:
        raise CommentError(_("You can only edit your own comments."), status=403)
    if comment.post.comments_mode != comment.post.CommentsMode.OPEN:
        raise CommentError(_("Comments are closed for this post."), status=403)
    if not comment.is_editable_by(user):
        raise CommentError(
            _(
                "Comments can be edited for 15 minutes after posting; "
                "this one can't be changed now."
            ),
            status=403,
        )
    part = participation(post=comment.post, user=user)
    if not part.can_write:
        raise CommentError(refusal_message(part), status=403)
    body = normalize(body).strip()
    if not body:
        raise CommentError(_("Write something before saving, or delete the comment instead."))
    if len(body) > MAX_LENGTH:
        raise CommentError(_("A comment can be at most 5,000 characters."))
    if body == comment.body:
        return comment
    comment.body = body
    comment.edited_at = timezone.now()
    fields = ["body", "edited_at"]
    reasons = hold_reasons(
        body=body,
        author=user,
        config=CommentSettings.load(),
        commenter=None,
        first_comment_check=False,
    )
    if reasons and comment.status == Comment.Status.VISIBLE:
        comment.status = Comment.Status.HELD
        comment.held_reason = "; ".join([_("edited"), *reasons])
        fields += ["status", "held_reason"]
    comment.save(update_fields=fields)
    return comment


@transaction.atomic
def delete_comment(*, comment: Comment, user) -> Comment:
    """Delete user's own comment: the text goes, the place in the thread stays."""
    comment = Comment.objects.select_for_update(no_key=True).get(pk=comment.pk)
    if comment.author_id != user.pk or not user.is_authenticated:
        raise CommentError(_("You can only delete your own comments."), status=403)
    if comment.is_deleted:
        return comment
    comment.deleted_at = timezone.now()
    comment.body = ""
    comment.save(update_fields=["deleted_at", "body"])
    return comment


def _require_interactable(comment: Comment, user) -> None:
    part = participation(post=comment.post, user=user)
    if not part.can_write:
        raise CommentError(refusal_message(part), status=404 if part.reason == "off" else 403)
    if not comment.is_public:
        raise CommentError(_("This comment is not available any more."), status=404)


@transaction.atomic
def like_comment(*, comment: Comment, user) -> bool:
    """Like comment as user; return True if this call added the like (False if it was there).

    The comment row is locked first (the lock order above), so one reader's likes and unlikes
    of one comment take turns, and the like, the count and the page version move together."""
    _require_interactable(comment, user)
    if not _lock_comments([comment.pk]):
        raise CommentError(_("This comment is not available any more."), status=404)
    if CommentLike.objects.filter(comment=comment, user=user).exists():
        return False
    try:
        # The unique constraint stays the last word (a like written outside this function).
        with transaction.atomic():
            CommentLike.objects.create(comment=comment, user=user)
    except IntegrityError:
        return False
    Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") + 1)
    return True


@transaction.atomic
def unlike_comment(*, comment: Comment, user) -> bool:
    """Remove user's like; return True if there was one.

    Like ``like_comment``, the comment row is locked before the like is deleted: the delete's
    trigger moves the page version on, and the version comes last in the lock order."""
    _require_interactable(comment, user)
    if not _lock_comments([comment.pk]):
        raise CommentError(_("This comment is not available any more."), status=404)
    deleted, _details = CommentLike.objects.filter(comment=comment, user=user).delete()
    if deleted:
        Comment.objects.filter(pk=comment.pk, like_count__gt=0).update(
            like_count=F("like_count") - 1
        )
    return bool(deleted)


def check_can_report(*, comment: Comment, reporter) -> None:
    """Raise CommentError if reporter may not report comment (checked before showing the form,
    and again when the report arrives).

    Reports are accepted on closed posts too: abuse does not stop being abuse."""
    if comment.post.comments_mode == comment.post.CommentsMode.OFF:
        raise CommentError(_("Comments are off for this post."), status=404)
    part = participation(post=comment.post, user=reporter)
    if not part.can_report:
        if not reporter.is_authenticated:
            message = _("Log in to report a comment.")
        elif not reporter.can_participate:
            message = _("Confirm your email address to report a comment.")
        else:
            message = _("The editors have suspended your commenting, reports included.")
        raise CommentError(message, status=403)
    if not comment.is_public:
        raise CommentError(_("This comment is not available any more."), status=404)
    if comment.author_id == reporter.pk:
        raise CommentError(_("You can't report your own comment."), status=400)


def report_comment(*, comment: Comment, reporter, reason: str, details: str = "") -> CommentReport:
    """Record reporter's report on comment and return it; one report per reader and comment."""
    check_can_report(comment=comment, reporter=reporter)
    if reason not in CommentReport.Reason.values:
        raise CommentError(_("Choose a reason for the report."))
    try:
        with transaction.atomic():
            return CommentReport.objects.create(
                comment=comment, reporter=reporter, reason=reason, details=details.strip()[:1000]
            )
    except IntegrityError:
        raise CommentError(
            _("You already reported this comment. The editors will look at it."), status=409
        ) from None


# --- Moderation (admin actions call these) ---


@transaction.atomic
def approve_comments(*, comments: Iterable[Comment], moderator) -> int:
    """Make comments visible, trust their authors and close their reports; return how many
    changed. Replies that become visible now email the parent's author, once."""
    now = timezone.now()
    ids = _lock_comments(c.pk for c in comments)
    changed = list(
        Comment.objects.filter(pk__in=ids).exclude(status=Comment.Status.VISIBLE).order_by("pk")
    )
    # The authors' records before the comments change (the lock order above): the status
    # update's trigger moves the page version on, and a reader writing their next comment
    # holds their record while waiting for that version.
    author_ids = sorted({c.author_id for c in changed if c.author_id})
    existing = set(
        Commenter.objects.filter(user_id__in=author_ids)
        .order_by("user_id")
        .select_for_update(no_key=True)
        .values_list("user_id", flat=True)
    )
    Commenter.objects.bulk_create(
        [Commenter(user_id=uid, is_trusted=True) for uid in author_ids if uid not in existing],
        ignore_conflicts=True,
    )
    Commenter.objects.filter(user_id__in=author_ids, is_trusted=False).update(is_trusted=True)
    Comment.objects.filter(pk__in=[c.pk for c in changed]).update(
        status=Comment.Status.VISIBLE, moderated_at=now, moderated_by=moderator
    )
    CommentReport.objects.filter(comment_id__in=ids, resolved_at=None).update(
        resolved_at=now, resolved_by=moderator
    )
    for comment in changed:
        if comment.parent_id and not comment.is_deleted and comment.reply_notified_at is None:
            _enqueue_reply_email(comment)
    for comment in changed:
        comment.status = Comment.Status.VISIBLE  # as the update above stored it
    _announce_published([c for c in changed if not c.is_deleted])
    return len(changed)


@transaction.atomic
def set_comments_status(*, comments: Iterable[Comment], status: str, moderator) -> int:
    """Hide, hold or remove comments and close their reports; return how many changed."""
    if status == Comment.Status.VISIBLE:
        return approve_comments(comments=comments, moderator=moderator)
    now = timezone.now()
    # Locked in id order before the update: one UPDATE locks rows in whatever order it finds
    # them, so two editors acting on overlapping comments could each hold what the other needs.
    ids = _lock_comments(c.pk for c in comments)
    targets = Comment.objects.filter(pk__in=ids).exclude(status=status)
    changed = targets.update(status=status, moderated_at=now, moderated_by=moderator)
    CommentReport.objects.filter(comment_id__in=ids, resolved_at=None).update(
        resolved_at=now, resolved_by=moderator
    )
    return changed


@transaction.atomic
def ban_reader(*, user, reason: str, banned_by) -> Commenter:
    """Stop user from commenting (they can still read) and return their record."""
    commenter, _created = Commenter.objects.select_for_update().get_or_create(user=user)
    commenter.is_banned = True
    commenter.ban_reason = reason.strip()[:300]
    commenter.banned_by = banned_by
    commenter.banned_at = timezone.now()
    commenter.save(update_fields=["is_banned", "ban_reason", "banned_by", "banned_at"])
    return commenter


@transaction.atomic
def unban_reader(*, user) -> Commenter:
    """Let a banned reader comment again and return their record."""
    commenter, _created = Commenter.objects.select_for_update().get_or_create(user=user)
    commenter.is_banned = False
    commenter.ban_reason = ""
    commenter.banned_by = None
    commenter.banned_at = None
    commenter.save(update_fields=["is_banned", "ban_reason", "banned_by", "banned_at"])
    return commenter


# --- Reply emails ---


def stop_token(*, user) -> str:
    """Return a signed token that turns off user's reply emails (it expires, and using it twice
    changes nothing more)."""
    return signing.TimestampSigner(salt=STOP_SALT).sign(str(user.pk))


def user_id_from_stop_token(token: str) -> int | None:
    """Return the user id a valid, unexpired stop token was made for, else None."""
    try:
        value = signing.TimestampSigner(salt=STOP_SALT).unsign(token, max_age=STOP_MAX_AGE)
        return int(value)
    except (signing.BadSignature, ValueError):
        return None


def stop_url(*, user) -> str:
    return settings.SITE_URL + reverse(
        "comments:stop-replies", kwargs={"token": stop_token(user=user)}
    )


@transaction.atomic
def stop_reply_emails(*, user) -> None:
    """Turn off reply emails for user."""
    Commenter.objects.update_or_create(user=user, defaults={"notify_replies": False})


def send_reply_notification(*, comment: Comment) -> bool:
    """Email the parent's author about comment, once, if they asked for it; return True if sent."""
    if not comment.parent_id or not comment.is_public:
        return False
    parent = comment.parent
    recipient = parent.author
    if (
        recipient is None
        or not recipient.is_active
        or recipient.pk == comment.author_id
        or parent.is_deleted
    ):
        return False
    if not Commenter.objects.filter(user=recipient, notify_replies=True).exists():
        return False
    # The row lock makes a retried task or a second approval wait, then see the email was sent.
    # If sending fails, the transaction rolls back and a retry may try again.
    with transaction.atomic():
        claimed = (
            Comment.objects.select_for_update(no_key=True)
            .filter(pk=comment.pk, reply_notified_at=None)
            .first()
        )
        if claimed is None:
            return False
        _email_reply(comment=comment, parent=parent, recipient=recipient)
        claimed.reply_notified_at = timezone.now()
        claimed.save(update_fields=["reply_notified_at"])
    return True


def _email_reply(*, comment: Comment, parent: Comment, recipient) -> None:
    unsubscribe = stop_url(user=recipient)
    publication = Publication.objects.current()
    context = {
        "comment": comment,
        "parent": parent,
        "post": comment.post,
        "recipient": recipient,
        "replier_name": comment.author.public_name if comment.author else _("a deleted reader"),
        "comment_url": settings.SITE_URL + comment.get_absolute_url(),
        "stop_url": unsubscribe,
        "site_name": publication.name,
    }
    subject = " ".join(render_to_string("comments/email/reply_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=f"[{publication.name}] {subject}",
        from_email=publication.sender(),
        body=render_to_string("comments/email/reply_message.txt", context),
        to=[recipient.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.send()
