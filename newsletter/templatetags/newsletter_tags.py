"""The newsletter's piece of the account page (accounts' template loads it; accounts' code
imports nothing of the newsletter)."""

from django import template

from newsletter import audience
from newsletter.forms import ListsForm

register = template.Library()


@register.inclusion_tag("newsletter/partials/_account_lists.html", takes_context=True)
def newsletter_lists(context):
    """The reader's newsletters with a checkbox each, saved by newsletter:account-lists."""
    user = context["request"].user
    return {
        "form": ListsForm(offered=audience.offered_to(user)),
        "csrf_token": context.get("csrf_token"),
    }
