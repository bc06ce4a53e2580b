"""htmx answers that speak to the reader even when the request was refused.

htmx drops 4xx answers by default. Ours often carry a message for the reader (the form again
with why it was refused, "log in to vote", "too many in a minute"), so views mark such fragments
with one header and static/js/site.js swaps them in place. Anything unmarked (a CSRF failure
page, say) is still dropped rather than pasted into the page.
"""

from django.http import HttpResponse

READER_ERROR_HEADER = "X-Reader-Error"


def for_reader(response: HttpResponse) -> HttpResponse:
    """Mark response, if it is a 4xx, as a fragment htmx should show; return it."""
    if 400 <= response.status_code < 500:
        response[READER_ERROR_HEADER] = "1"
    return response
