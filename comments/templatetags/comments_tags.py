from django import template
from django.template.loader import render_to_string

from comments import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def post_comments(context, post):
    """Render the post's discussion: the form or the invitation to join, and the first page of
    threads (or the page and sort the plain "show more" and sort links asked for)."""
    request = context["request"]
    if post.comments_mode == post.CommentsMode.OFF:
        return ""
    data = selectors.discussion_context(
        post=post,
        user=request.user,
        sort=request.GET.get("comments_sort"),
        page=request.GET.get("comments_page"),
    )
    return render_to_string("comments/partials/_section.html", data, request=request)


@register.simple_tag
def report_reasons():
    """Return the (value, label) choices for the report form."""
    from comments.models import CommentReport

    return CommentReport.Reason.choices
