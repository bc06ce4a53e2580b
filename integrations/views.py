from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.models import Subscription
from integrations.services import confirm_requested_subscription, user_from_confirm_token


@require_http_methods(["GET", "HEAD", "POST"])
def confirm_subscription(request, token):
    """The link in the email a subscription asked for through the API sends.

    Opening it only asks (mail scanners open links too); the button's POST confirms. The token is
    the proof, so the form needs no login.
    """
    user = user_from_confirm_token(token)
    if user is None:
        return render(request, "integrations/confirm_invalid.html", status=400)
    if request.method == "POST":
        subscription = confirm_requested_subscription(user=user)
    else:
        # A second visit to the link says so, rather than asking again.
        subscription = Subscription.objects.filter(
            user=user, status=Subscription.Status.ACTIVE
        ).first()
    return render(
        request,
        "integrations/confirm_subscription.html",
        {"reader": user, "subscription": subscription, "token": token},
    )
