from django import template
from django.template.loader import render_to_string

from polls.models import Poll
from polls.selectors import panels_for_post

register = template.Library()

# The place a post's body marks with its poll block (posts.richtext.POLL_SLOT).
IN_BODY = "in_body"


@register.simple_tag(takes_context=True)
def post_poll(context, post, placement=None):
    """Render the post's polls where the post page asks for them.

    `{% post_poll post %}` renders every poll of the post at that spot. A page that offers
    several spots passes `placement="after_body"` or `placement="end"` at each, and every poll
    appears at the spot its editor chose. `placement="in_body"` is the poll block an editor put
    in the body: the page renders it only when there is one, and every poll goes there. Polls
    are read once per request, however many spots.
    """
    request = context.get("request")
    cache = getattr(request, "_polls_panels", None) if request is not None else None
    if cache is None:
        cache = {}
        if request is not None:
            request._polls_panels = cache
    # Per reader too: the page cache renders a page for a stand-in, then for the reader.
    key = (getattr(getattr(request, "user", None), "pk", None), post.pk)
    if key not in cache:
        cache[key] = panels_for_post(post=post, request=request)
    panels = cache[key]
    if placement is not None and placement != IN_BODY:
        # (At the body's poll block every poll of the post goes, whatever its Placement.)
        valid = {choice.value for choice in Poll.Placement} | {IN_BODY}
        if placement not in valid:
            raise template.TemplateSyntaxError(
                f"post_poll: placement must be one of {sorted(valid)}, not {placement!r}"
            )
        panels = [panel for panel in panels if panel.poll.placement == placement]
    if not panels:
        return ""
    return render_to_string("polls/partials/_post_polls.html", {"panels": panels}, request=request)
