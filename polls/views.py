"""Voting on the site (plain POST or htmx) and from the email's signed links."""

from http import HTTPStatus
from types import SimpleNamespace
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Prefetch, prefetch_related_objects
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import ratelimits, referrals
from polls.forms import VoteForm
from polls.models import Choice, Poll, Vote
from polls.selectors import (
    EMAIL_VOTE_PARAM,
    EMAIL_VOTE_SESSION_KEY,
    build_panel,
    can_participate,
)
from polls.services import (
    VoteError,
    VoteOutcome,
    cast_email_vote,
    cast_vote,
    read_vote_token,
)
from posts.htmx import for_reader
from posts.models import Post


def _poll_queryset(request):
    # The post's long text columns stay in the database: a vote never shows them, and the big
    # post's body alone is tens of kilobytes to send and decode on every vote.
    return (
        Poll.objects.select_related("post")
        .defer("post__body", "post__body_text", "post__body_opening")
        .filter(post__in=Post.objects.visible_to(request.user))
    )


def _render_panel(
    request, poll, *, status=HTTPStatus.OK, referral_url="", choices=None, **panel_kwargs
):
    """The poll alone for htmx, else a small page with the poll and a way back to the post.

    choices (with vote_count), read right after the reader's vote, saves reading them again."""
    if choices:
        queryset = poll.choices.all()
        queryset._result_cache, queryset._prefetch_done = list(choices), True
        poll._prefetched_objects_cache = {"choices": queryset}
    else:
        # Fresh counts for the poll already loaded with its post: one query, not three.
        poll.__dict__.get("_prefetched_objects_cache", {}).pop("choices", None)
        prefetch_related_objects(
            [poll], Prefetch("choices", queryset=Choice.objects.with_vote_counts())
        )
    my_choice_id = None
    if request.user.is_authenticated and "my_choice_id" not in panel_kwargs:
        my_choice_id = (
            Vote.objects.filter(poll=poll, user=request.user)
            .values_list("choice_id", flat=True)
            .first()
        )
    panel_kwargs.setdefault("my_choice_id", my_choice_id)
    panel = build_panel(poll=poll, user=request.user, **panel_kwargs)
    template = "polls/partials/_poll.html" if request.htmx else "polls/poll_detail.html"
    context = {"panel": panel, "post": poll.post, "referral_url": referral_url}
    response = render(request, template, context, status=status)
    return for_reader(response) if request.htmx else response


@require_POST
@vary_on_headers("HX-Request")
def vote(request, poll_id):
    """Record the logged-in reader's vote, then show the results (or why not)."""
    poll = get_object_or_404(_poll_queryset(request), pk=poll_id)
    if not can_participate(request.user):
        return _render_panel(
            request,
            poll,
            status=HTTPStatus.FORBIDDEN,
            message=_("Log in with a confirmed email to vote."),
            message_level="error",
        )
    if not ratelimits.consume(request, action="vote", user=request.user):
        return _render_panel(
            request,
            poll,
            status=HTTPStatus.TOO_MANY_REQUESTS,
            message=_("Too many votes in a short time. Please wait a minute and try again."),
            message_level="error",
        )
    form = VoteForm(request.POST)
    if not form.is_valid():
        return _render_panel(
            request,
            poll,
            status=HTTPStatus.BAD_REQUEST,
            errors=[str(error) for error in form.errors.get("choice", [])],
            message_level="error",
        )
    try:
        # The vote comes back with the poll's choices and their tallies, which include it: the
        # answer costs no further query.
        result = cast_vote(poll=poll, choice_id=form.cleaned_data["choice"], user=request.user)
    except VoteError as error:
        return _render_panel(
            request, poll, status=error.status, message=str(error.message), message_level="error"
        )
    if not request.htmx:
        return redirect(poll.get_absolute_url())
    message = {
        VoteOutcome.CREATED: _("Thanks, your vote is counted."),
        VoteOutcome.CHANGED: _("Your vote is changed."),
        VoteOutcome.UNCHANGED: _("Your vote is counted."),
    }[result.outcome]
    return _render_panel(
        request,
        poll,
        message=message,
        message_level="success",
        my_choice_id=result.vote.choice_id,  # just recorded: no need to read it back
        choices=result.choices,
        # A first vote is a good moment to invite a friend (signed: costs no query).
        referral_url=(
            referrals.referral_url(request.user) if result.outcome == VoteOutcome.CREATED else ""
        ),
    )


@require_http_methods(["GET", "POST"])
def email_vote(request, token):
    """An email's vote link. GET records nothing (mail scanners open links): it opens the post at
    the poll with the choice selected, where the page confirms by POST to this same URL."""
    if request.method == "GET":
        try:
            email_vote = read_vote_token(token)
        except VoteError as error:
            return _email_vote_refused(request, error)
        poll = _poll_queryset(request).filter(pk=email_vote.poll_id).first()
        if poll is None:
            missing = VoteError(_("This poll no longer exists."), status=404)
            return _email_vote_refused(request, missing)
        query = urlencode({EMAIL_VOTE_PARAM: token})
        return redirect(f"{poll.post.get_absolute_url()}?{query}#{poll.anchor}")

    try:
        email_vote = read_vote_token(token)
    except VoteError as error:
        return _email_vote_refused(request, error)
    # The link's reader is the voter, logged in or not, so the limit follows them (the limiter
    # reads only the user's pk).
    voter = SimpleNamespace(pk=email_vote.user_id)
    if not ratelimits.consume(request, action="vote", user=voter):
        return render(request, "429.html", status=HTTPStatus.TOO_MANY_REQUESTS)
    try:
        poll, _result = cast_email_vote(token=token)
    except VoteError as error:
        return _email_vote_refused(request, error, poll_id=email_vote.poll_id)
    # The token has done its job: the page we send the reader to has none in its address, so a
    # copied or shared URL votes for no one. The session carries it to the results panel once,
    # and the flash message says what happened (and keeps the stored page from answering).
    request.session[EMAIL_VOTE_SESSION_KEY] = token
    messages.success(request, _("Your vote from our email is counted."))
    return redirect(f"{poll.post.get_absolute_url()}#{poll.anchor}")


def _email_vote_refused(request, error, poll_id=None):
    """Say why an email vote was not recorded, and offer the poll on the site when we can."""
    poll_id = poll_id or getattr(error, "poll_id", None)
    poll = None
    if poll_id is not None:
        poll = (
            Poll.objects.select_related("post")
            .filter(pk=poll_id, post__in=Post.objects.published())
            .first()
        )
    return render(
        request,
        "polls/email_vote_refused.html",
        {"message": error.message, "poll": poll},
        status=error.status,
    )
