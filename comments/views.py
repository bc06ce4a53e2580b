"""Comment pages and endpoints. Each one works as a plain form POST (redirect after success, a
full page with the message after a refusal) and in place with htmx (the fragment alone)."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import ratelimits
from comments import selectors
from comments.forms import CANT_REPLY_MESSAGE, CommentForm, EditCommentForm, ReportForm
from comments.models import Comment, Commenter
from comments.services import (
    CommentError,
    add_comment,
    check_can_report,
    delete_comment,
    edit_comment,
    like_comment,
    participation,
    refusal_message,
    report_comment,
    stop_reply_emails,
    unlike_comment,
    user_id_from_stop_token,
)
from posts import pagecache
from posts.htmx import for_reader
from posts.models import Post

HELD_MESSAGE = gettext_lazy(
    "Thanks! Your comment is awaiting review by the editors. Until then only you can see it."
)


def _post_or_404(request, slug) -> Post:
    post = get_object_or_404(Post.objects.visible_to(request.user), slug=slug)
    if post.comments_mode == Post.CommentsMode.OFF:
        raise Http404
    return post


def _comment_or_404(request, pk) -> Comment:
    comment = get_object_or_404(
        Comment.objects.select_related("post", "author").filter(
            post__in=Post.objects.visible_to(request.user)
        ),
        pk=pk,
    )
    if comment.post.comments_mode == Post.CommentsMode.OFF:
        raise Http404
    return comment


def _fragment(request, template, context, *, status=200, retarget=None) -> HttpResponse:
    response = HttpResponse(render_to_string(template, context, request=request), status=status)
    if retarget:
        # The form's normal target is where successes go (a list, a comment); errors go back
        # into the form itself.
        response["HX-Retarget"] = retarget
        response["HX-Reswap"] = "outerHTML"
    return for_reader(response)


def _notice(request, message, *, status, post=None) -> HttpResponse:
    """A refusal as a small fragment (htmx) or a page (plain request)."""
    context = {"message": message, "post": post}
    if request.htmx:
        return _fragment(request, "comments/partials/_notice.html", context, status=status)
    return render(request, "comments/notice.html", context, status=status)


def _article_context(request, comment: Comment) -> dict:
    """Context for re-rendering one comment in place after a change."""
    selectors.prepare(comment, user=request.user)
    part = participation(post=comment.post, user=request.user)
    return {
        "comment": comment,
        "post": comment.post,
        "part": part,
        "form": CommentForm(post=comment.post, initial={"notify_replies": part.notify_replies}),
    }


# --- Reading ---


@vary_on_headers("HX-Request")
@require_http_methods(["GET"])
@pagecache.cacheable_when_anonymous(
    versions=lambda slug: pagecache.versions(post_slug=slug), params=("sort", "page")
)
def discussion(request, slug):
    """The discussion list for sorting and "show more": a fragment for htmx; plain requests
    go to the post page, which shows the same list."""
    post = _post_or_404(request, slug)
    sort = selectors.clean_sort(request.GET.get("sort"))
    page = selectors.clean_page(request.GET.get("page"))
    if not request.htmx:
        query = f"?comments_sort={sort}" + (f"&comments_page={page}" if page > 1 else "")
        return redirect(post.get_absolute_url() + query + "#comments")
    context = selectors.discussion_context(post=post, user=request.user, sort=sort, page=page)
    template = "comments/partials/_page.html" if page > 1 else "comments/partials/_discussion.html"
    return _fragment(request, template, context)


@require_http_methods(["GET"])
def thread(request, slug, pk):
    """One comment and the replies under it: where deep threads continue, and permalinks."""
    post = _post_or_404(request, slug)
    comment = selectors.thread(post=post, user=request.user, pk=pk)
    context = selectors.discussion_context(post=post, user=request.user, page_needed=False)
    context["comment"] = comment
    return render(request, "comments/thread.html", context)


# --- Writing ---


def _form_refused(request, *, post, form, parent_id, message="", status=400) -> HttpResponse:
    """Show the form again, text intact, with what went wrong."""
    if message:
        form.add_error(None, message)
    part = participation(post=post, user=request.user)
    context = {"post": post, "form": form, "part": part, "parent_id": parent_id}
    if request.htmx:
        if parent_id:
            return _fragment(
                request,
                "comments/partials/_reply_form.html",
                context,
                status=status,
                retarget=f"#reply-{parent_id}",
            )
        return _fragment(
            request,
            "comments/partials/_form.html",
            context,
            status=status,
            retarget="#comment-form",
        )
    return render(request, "comments/comment_form.html", context, status=status)


@vary_on_headers("HX-Request")
@require_POST
def create(request, slug):
    """Post a comment or a reply."""
    post = _post_or_404(request, slug)
    form = CommentForm(request.POST, post=post)
    raw_parent = request.POST.get("parent", "")
    parent_id = int(raw_parent) if raw_parent.isdigit() else None
    part = participation(post=post, user=request.user)
    if not part.can_write:
        return _form_refused(
            request,
            post=post,
            form=form,
            parent_id=parent_id,
            message=refusal_message(part),
            status=403,
        )
    if form.is_bot:
        return _form_refused(
            request,
            post=post,
            form=form,
            parent_id=parent_id,
            message=_(
                "Your comment was not posted because a field meant to stay empty was filled in. "
                "If you are a person, clear the field labelled “Leave this field empty” and post "
                "again."
            ),
        )
    if not form.is_valid():
        return _form_refused(request, post=post, form=form, parent_id=parent_id)
    if not ratelimits.consume(request, action="comment", user=request.user):
        return _form_refused(
            request,
            post=post,
            form=form,
            parent_id=parent_id,
            message=_(
                "You are commenting faster than we allow (5 comments a minute). "
                "Wait a minute and post again; your text is still here."
            ),
            status=429,
        )
    parent = form.cleaned_data["parent"]
    try:
        comment = add_comment(
            post=post,
            author=request.user,
            body=form.cleaned_data["body"],
            parent=parent,
            notify_replies=form.cleaned_data["notify_replies"],
        )
    except CommentError as error:
        return _form_refused(
            request,
            post=post,
            form=form,
            parent_id=parent_id,
            message=error.message,
            status=error.status,
        )
    if request.htmx:
        comment.post = post
        context = _article_context(request, comment)
        context["parent_id"] = parent.pk if parent else None
        context["status_message"] = (
            HELD_MESSAGE if comment.status == Comment.Status.HELD else _("Your comment is posted.")
        )
        return _fragment(request, "comments/partials/_created.html", context, status=201)
    if comment.status == Comment.Status.HELD:
        messages.info(request, HELD_MESSAGE)
    else:
        messages.success(request, _("Your comment is posted."))
    if parent is None:
        return redirect(f"{post.get_absolute_url()}#comment-{comment.pk}")
    return redirect(parent.get_absolute_url().split("#")[0] + f"#comment-{comment.pk}")


@vary_on_headers("HX-Request")
@require_http_methods(["GET"])
@login_required
def reply(request, pk):
    """The form to reply to one comment: a page of its own, or (htmx) the form alone, loaded
    under the comment. Post pages link here instead of carrying a form under every comment."""
    parent = _comment_or_404(request, pk)
    if not parent.is_readable_by(request.user):
        raise Http404  # someone else's comment awaiting review, or one that is gone
    post = parent.post
    part = participation(post=post, user=request.user)
    status = 200
    if not part.can_write:
        status = 403
    elif not parent.accepts_replies():
        return _notice(request, CANT_REPLY_MESSAGE, status=409, post=post)
    context = {
        "post": post,
        "part": part,
        "refusal": refusal_message(part),
        "parent": parent,
        "parent_id": parent.pk,
        "form": CommentForm(post=post, initial={"notify_replies": part.notify_replies}),
    }
    if request.htmx:
        return _fragment(request, "comments/partials/_reply_form.html", context, status=status)
    return render(request, "comments/comment_form.html", context, status=status)


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@login_required
def edit(request, pk):
    """Change one's own comment within 15 minutes of posting."""
    comment = _comment_or_404(request, pk)
    post = comment.post
    if request.method == "GET":
        if not comment.is_editable_by(request.user):
            return _notice(
                request,
                _("Only the author can edit a comment, within 15 minutes of posting it."),
                status=403,
                post=post,
            )
        form = EditCommentForm(initial={"body": comment.body})
        return render(request, "comments/edit_form.html", {"comment": comment, "form": form})
    form = EditCommentForm(request.POST)
    error_status = 400
    if form.is_valid():
        try:
            comment = edit_comment(
                comment=comment, user=request.user, body=form.cleaned_data["body"]
            )
        except CommentError as error:
            form.add_error(None, error.message)
            error_status = error.status
        else:
            if request.htmx:
                return _fragment(
                    request, "comments/partials/_article.html", _article_context(request, comment)
                )
            if comment.status == Comment.Status.HELD:
                messages.info(request, HELD_MESSAGE)
            else:
                messages.success(request, _("Your comment is updated."))
            return redirect(comment.get_absolute_url())
    context = {"comment": comment, "form": form, "open": True, "post": post}
    if request.htmx:
        return _fragment(
            request,
            "comments/partials/_edit_form.html",
            context,
            status=error_status,
            retarget=f"#edit-{comment.pk}",
        )
    return render(request, "comments/edit_form.html", context, status=error_status)


@vary_on_headers("HX-Request")
@require_POST
@login_required
def delete(request, pk):
    """Delete one's own comment; replies under it stay where they are."""
    comment = _comment_or_404(request, pk)
    try:
        comment = delete_comment(comment=comment, user=request.user)
    except CommentError as error:
        return _notice(request, error.message, status=error.status, post=comment.post)
    if request.htmx:
        return _fragment(
            request, "comments/partials/_article.html", _article_context(request, comment)
        )
    messages.success(request, _("Your comment is deleted."))
    if comment.parent_id:
        return redirect(comment.parent.get_absolute_url())
    return redirect(f"{comment.post.get_absolute_url()}#comments")


@vary_on_headers("HX-Request")
@require_POST
def like(request, pk):
    """Like or unlike a comment. The form says which, so a repeated request changes nothing."""
    comment = _comment_or_404(request, pk)
    if not request.user.is_authenticated:
        return _notice(
            request,
            refusal_message(participation(post=comment.post, user=request.user)),
            status=403,
            post=comment.post,
        )
    if not ratelimits.consume(request, action="react", user=request.user):
        return _notice(request, _("Too many likes in a short time. Wait a minute."), status=429)
    try:
        if request.POST.get("action") == "unlike":
            unlike_comment(comment=comment, user=request.user)
        else:
            like_comment(comment=comment, user=request.user)
    except CommentError as error:
        return _notice(request, error.message, status=error.status, post=comment.post)
    comment.refresh_from_db(fields=["like_count"])
    if request.htmx:
        return _fragment(
            request, "comments/partials/_like.html", _article_context(request, comment)
        )
    return redirect(comment.get_absolute_url())


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@login_required
def report(request, pk):
    """Tell the editors a comment breaks the rules."""
    comment = _comment_or_404(request, pk)
    form = ReportForm(request.POST or None)
    status = 200
    if request.method == "GET":
        try:
            check_can_report(comment=comment, reporter=request.user)
        except CommentError as error:
            return _notice(request, error.message, status=error.status, post=comment.post)
    else:
        status = 400
        if form.is_valid():
            if not ratelimits.consume(request, action="react", user=request.user):
                form.add_error(None, _("Too many reports in a short time. Wait a minute."))
                status = 429
            else:
                try:
                    report_comment(
                        comment=comment,
                        reporter=request.user,
                        reason=form.cleaned_data["reason"],
                        details=form.cleaned_data["details"],
                    )
                except CommentError as error:
                    form.add_error(None, error.message)
                    status = error.status
                else:
                    thanks = _("Thanks for the report. The editors will look at this comment.")
                    if request.htmx:
                        return _fragment(
                            request,
                            "comments/partials/_reported.html",
                            {"comment": comment, "message": thanks},
                        )
                    messages.success(request, thanks)
                    return redirect(comment.get_absolute_url())
    context = {"comment": comment, "form": form, "post": comment.post}
    if request.htmx:
        return _fragment(
            request,
            "comments/partials/_report_form.html",
            context,
            status=status,
            retarget=f"#report-{comment.pk}",
        )
    return render(request, "comments/report_form.html", context, status=status)


# --- Reply emails ---


@require_POST
@login_required
def reply_emails(request):
    """Turn reply emails on or off for the logged-in reader."""
    receive = request.POST.get("receive") == "on"
    Commenter.objects.update_or_create(user=request.user, defaults={"notify_replies": receive})
    messages.success(
        request,
        _("You will get an email when someone replies to you.")
        if receive
        else _("You will not get emails about replies any more."),
    )
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    return redirect(next_url)


# The signed token in the URL is what authorises the change, not a session, so this view takes
# POSTs without a CSRF token: mail clients' one-click unsubscribe (RFC 8058) posts straight here.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def stop_replies(request, token):
    """Stop reply emails: GET asks for confirmation, POST (with a valid token) stops them."""
    user_id = user_id_from_stop_token(token)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if user is None:
        return render(request, "comments/stop_replies.html", {"invalid": True}, status=400)
    if request.method == "POST":
        stop_reply_emails(user=user)
        return render(request, "comments/stop_replies.html", {"done": True})
    return render(request, "comments/stop_replies.html", {"token": token})
