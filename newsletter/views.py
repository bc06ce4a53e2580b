"""The reader's side of the newsletter: the preference centre a signed link in every email
opens without logging in, leaving one newsletter from an email, and the newsletter choice on
the account page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import ProfileForm
from accounts.models import User
from accounts.services import unsubscribe_reader, unsubscribe_token
from newsletter import audience
from newsletter.forms import ListsForm
from newsletter.links import ids_from_leave_token, manage_token, user_id_from_manage_token
from newsletter.models import Newsletter


def _invalid(request):
    return render(request, "newsletter/link_invalid.html", status=400)


def _manage_context(request, user, token, *, lists_form=None, profile_form=None, **extra):
    return {
        "token": token,
        "reader": user,
        "subscription": getattr(user, "subscription", None),
        "lists_form": lists_form or ListsForm(offered=audience.offered_to(user)),
        "profile_form": profile_form or ProfileForm(instance=user),
        "resubscribe_token": unsubscribe_token(user.pk),
        **extra,
    }


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def manage(request, token):
    """The preference centre: choose newsletters, change the display name, or unsubscribe
    from everything. The signed token in the link stands for the login; a forged or altered
    one gets a page saying so and changes nothing."""
    user_id = user_id_from_manage_token(token)
    if user_id is None:
        return _invalid(request)
    user = User.objects.select_related("subscription").filter(pk=user_id).first()
    if user is None:
        return render(request, "newsletter/manage.html", {"reader": None})
    if request.method != "POST":
        return render(request, "newsletter/manage.html", _manage_context(request, user, token))
    lists_form = ListsForm(request.POST, offered=audience.offered_to(user))
    profile_form = ProfileForm(request.POST, instance=user)
    if lists_form.is_valid() and profile_form.is_valid():
        audience.set_lists(
            user=user,
            newsletter_ids=set(lists_form.cleaned_data["lists"]),
            source="preferences",
        )
        profile_form.save()
        messages.success(request, _("Your choices are saved."))
        return redirect("newsletter:manage", token=token)
    return render(
        request,
        "newsletter/manage.html",
        _manage_context(request, user, token, lists_form=lists_form, profile_form=profile_form),
        status=400,
    )


@require_POST
def unsubscribe_everything(request, token):
    """Stop every newsletter for the reader of a preference link (their account stays)."""
    user_id = user_id_from_manage_token(token)
    if user_id is None:
        return _invalid(request)
    user = get_object_or_404(User, pk=user_id)
    unsubscribe_reader(user=user, reason=_("Unsubscribed from everything in the preferences."))
    messages.success(request, _("You are unsubscribed from everything. Your account stays."))
    return redirect("newsletter:manage", token=token)


# The unsubscribe link of a newsletter email and its List-Unsubscribe header. Exempt from CSRF
# on purpose, like accounts' unsubscribe: mail providers send the RFC 8058 one-click POST from
# their servers without our cookies. The signed token authorises it, and all it can do is take
# that one reader off that one newsletter.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def leave(request, token):
    """GET asks (mail scanners open links and must change nothing); POST leaves the newsletter,
    from the page's button or a mail provider's one-click request."""
    ids = ids_from_leave_token(token)
    if ids is None:
        return _invalid(request)
    user = User.objects.filter(pk=ids[0]).first()
    newsletter = Newsletter.objects.filter(pk=ids[1]).first()
    if user is None or newsletter is None:
        return render(request, "newsletter/manage.html", {"reader": None})
    one_click = request.POST.get("List-Unsubscribe") == "One-Click"
    if request.method == "POST":
        audience.leave(user=user, newsletter=newsletter)
        if one_click:
            return HttpResponse(
                _("You are unsubscribed from %(name)s.") % {"name": newsletter.name},
                content_type="text/plain; charset=utf-8",
            )
    return render(
        request,
        "newsletter/leave.html",
        {
            "token": token,
            "reader": user,
            "newsletter": newsletter,
            "done": request.method == "POST",
            "manage_token": manage_token(user.pk),
        },
    )


@require_POST
@login_required
def account_lists(request):
    """Save the newsletter choice from the account page."""
    form = ListsForm(request.POST, offered=audience.offered_to(request.user))
    if form.is_valid():
        audience.set_lists(
            user=request.user, newsletter_ids=set(form.cleaned_data["lists"]), source="account"
        )
        messages.success(request, _("Your newsletter choice is saved."))
    else:
        messages.error(request, _("That choice could not be saved. Please try again."))
    return redirect("accounts:account")
