import json
from http import HTTPStatus

from allauth.account.adapter import get_adapter

# Private, as allauth 65 offers no public way to do either: email a verification *code* to a
# logged-in reader's address (EmailAddress.send_confirmation mails a link, which our by-code
# verification page cannot take; verified_email_required adds a ?next= we do not want), and
# drop a login still waiting for its code (allauth's own views call clear_login for this).
from allauth.account.internal.flows.email_verification import send_verification_email_for_user
from allauth.account.internal.stagekit import clear_login
from allauth.account.views import ConfirmLoginCodeView as AllauthConfirmLoginCodeView
from allauth.account.views import LoginView, RequestLoginCodeView
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import logincodes, referrals, subscribe_options
from accounts.forms import (
    DeleteAccountForm,
    NewsletterForm,
    ProfileForm,
    SubscribeForm,
    chosen_lists,
)
from accounts.models import User
from accounts.personal_data import reader_data
from accounts.services import (
    delete_account,
    resubscribe_reader,
    set_newsletter,
    unsubscribe_reader,
    user_id_from_unsubscribe_token,
)
from accounts.tasks import subscribe_and_send_code

# Form errors that mean "over a rate limit": ours (subscribe) and allauth's (login, codes).
RATE_LIMIT_ERROR_CODES = {"rate_limited", "too_many_login_attempts"}


class TooManyRequestsMixin:
    """Answer 429 Too Many Requests, not 200, when a form was refused for going over a rate
    limit. The page is the same form with the message, so the reader keeps what they typed; the
    status tells scripts, proxies and monitoring what happened."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if _is_rate_limited(form):
            response.status_code = HTTPStatus.TOO_MANY_REQUESTS
        return response


def _is_rate_limited(form) -> bool:
    from allauth.account.adapter import get_adapter

    # allauth's login form copies the code form's errors as plain messages, so the message is
    # recognised as well as the code.
    messages_ = {str(get_adapter().error_messages["too_many_login_attempts"])}
    for errors in form.errors.as_data().values():
        for error in errors:
            if error.code in RATE_LIMIT_ERROR_CODES or any(m in messages_ for m in error):
                return True
    return False


class RateLimitedLoginView(TooManyRequestsMixin, LoginView):
    """allauth's password login (editors), answering 429 once the login limits are reached."""


class RateLimitedRequestLoginCodeView(TooManyRequestsMixin, RequestLoginCodeView):
    """allauth's "email me a code", answering 429 once the code limits are reached."""


login = RateLimitedLoginView.as_view()
request_login_code = RateLimitedRequestLoginCodeView.as_view()


class SubscribeView(TooManyRequestsMixin, RequestLoginCodeView):
    """Subscribe with an email: new readers get an account, everyone gets a one-time code.

    The answer is the same for known and unknown addresses, so the form reveals nothing.
    """

    form_class = SubscribeForm
    template_name = "accounts/subscribe.html"

    def get_form_class(self):
        return self.form_class

    def get_initial(self):
        initial = super().get_initial()
        initial["ref"] = self.request.GET.get("ref") or self.request.session.get(
            referrals.SESSION_KEY, ""
        )
        return initial

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.method == "POST":
            # Only the lists matter here: the reader is known, so the email field is not asked.
            lists = None
            offered = {option.value for option in subscribe_options.offer()}
            if offered and request.POST.get("lists_shown"):
                lists = [value for value in request.POST.getlist("lists") if value in offered]
                if not lists:
                    messages.error(request, _("Choose at least one newsletter."))
                    return redirect(reverse("accounts:subscribe"))
            source = request.POST.get("source", "")[:100]
            subscription = set_newsletter(user=request.user, receive=True, source=source)
            subscribe_options.apply(
                user=request.user, chosen=lists, source=source, new=False, proven=True
            )
            if not subscription.is_active and not request.user.has_verified_email:
                return _confirm_address_first(request)
            messages.success(request, _("You're subscribed. New posts will arrive by email."))
            return redirect(self.get_next_url() or reverse("accounts:account"))
        if request.method == "POST":
            # A new address replaces a code still pending in this browser (a typo, say),
            # instead of sending the reader back to the old code's page.
            clear_login(request)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        # The same work for a known and a new address, so the answer time tells nothing: the
        # code is made and kept in this browser's session here, and a task makes or finds the
        # account and emails the code after the answer (accounts/logincodes.py).
        email = form.cleaned_data["email"]
        code = logincodes.start(self.request, email)
        referral = form.cleaned_data.get("ref") or self.request.session.get(
            referrals.SESSION_KEY, ""
        )
        subscribe_and_send_code.enqueue(
            email=email,
            source=form.cleaned_data.get("source") or ("referral" if referral else "subscribe"),
            code=code,
            lists=chosen_lists(form),
            referral=referral[:40],
            network=referrals.network_bucket(get_adapter().get_client_ip(self.request))
            if referral
            else "",
        )
        # FormView's redirect to the code page, without allauth's form_valid, which would look
        # the account up and email the code itself.
        return super(RequestLoginCodeView, self).form_valid(form)


subscribe = SubscribeView.as_view()


class ConfirmLoginCodeView(AllauthConfirmLoginCodeView):
    """allauth's "type your code" page, which also finds the account a subscribe request had
    not looked up (accounts/logincodes.py)."""

    def dispatch(self, request, *args, **kwargs):
        logincodes.attach_account(request)
        return super().dispatch(request, *args, **kwargs)

    def _verify_form_valid(self, form):
        if self._process.user is None:
            # A right code for an account the task has not made yet, or that was deleted
            # meanwhile: start again rather than log in to nothing.
            self._process.abort()
            messages.error(
                self.request, _("Something went wrong with your code. Please ask for a new one.")
            )
            return redirect("accounts:subscribe")
        return super()._verify_form_valid(form)

    def _resend_form_valid(self, form):
        # Only when resending is turned on (ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND; off here).
        if self._process.user is None:
            # The first code is still on its way; a new one now would void it.
            messages.info(self.request, _("Your code is on its way. Give it a minute."))
            return redirect(self.passthrough_next_url(reverse("account_confirm_login_code")))
        return super()._resend_form_valid(form)


confirm_login_code = ConfirmLoginCodeView.as_view()


def _confirm_address_first(request):
    """A logged-in reader who never proved their address asked for the newsletter: email them a
    code; the subscription starts once they type it (double opt-in)."""
    send_verification_email_for_user(request, request.user)
    messages.info(
        request,
        _("Confirm your email address to start receiving new posts: we sent you a code."),
    )
    return redirect("account_email_verification_sent")


@require_safe
def referral(request, code):
    """A reader's personal referral link: remember who sent the visitor, then offer to
    subscribe. An unknown code says so plainly and credits no one."""
    if referrals.referrer_for_code(code) is None:
        return render(request, "accounts/referral_invalid.html", status=404)
    request.session[referrals.SESSION_KEY] = code
    return redirect(f"{reverse('accounts:subscribe')}?ref={code}")


@login_required
def account(request):
    """The reader's own page: name, newsletter, log out, delete."""
    subscription = getattr(request.user, "subscription", None)
    profile_form = ProfileForm(instance=request.user)
    newsletter_form = NewsletterForm(
        initial={"receive": bool(subscription and subscription.is_active)}
    )
    if request.method == "POST":
        if "display_name" in request.POST:
            profile_form = ProfileForm(request.POST, instance=request.user)
            if profile_form.is_valid():
                profile_form.save()
                messages.success(request, _("Your display name is saved."))
                return redirect("accounts:account")
        else:
            newsletter_form = NewsletterForm(request.POST)
            if newsletter_form.is_valid():
                receive = newsletter_form.cleaned_data["receive"]
                subscription = set_newsletter(user=request.user, receive=receive)
                if receive and not subscription.is_active and not request.user.has_verified_email:
                    return _confirm_address_first(request)
                messages.success(
                    request,
                    _("You will receive new posts by email.")
                    if receive
                    else _("You are unsubscribed. Your account stays."),
                )
                return redirect("accounts:account")
    return render(
        request,
        "accounts/account.html",
        {
            "profile_form": profile_form,
            "newsletter_form": newsletter_form,
            "subscription": subscription,
            "delete_form": DeleteAccountForm(),
            "referral_url": referrals.referral_url(request.user),
            "referral_count": referrals.referral_count(request.user),
        },
    )


@require_safe
@never_cache
@login_required
def data_export(request):
    """Download everything we store about the logged-in reader, as a JSON file."""
    data = reader_data(user=request.user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    filename = f"futureforward-data-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@login_required
def delete(request):
    form = DeleteAccountForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "accounts/account.html",
            {
                "profile_form": ProfileForm(instance=request.user),
                "newsletter_form": NewsletterForm(),
                "subscription": getattr(request.user, "subscription", None),
                "delete_form": form,
            },
            status=400,
        )
    user = request.user
    logout(request)
    delete_account(user=user)
    messages.success(request, _("Your account and personal data are deleted."))
    return redirect("/")


def _reader_for_token(token: str) -> tuple[User | None, bool]:
    """Return (reader, token is valid). A valid token for a deleted account gives (None, True)."""
    user_id = user_id_from_unsubscribe_token(token)
    if user_id is None:
        return None, False
    return User.objects.select_related("subscription").filter(pk=user_id).first(), True


# The link in every newsletter email, and the target of the List-Unsubscribe header. Exempt from
# CSRF on purpose: mail providers send the RFC 8058 one-click POST from their servers, without our
# cookies or a CSRF token, and it must succeed with a 200. The signed token in the URL is what
# authorises the request, and all it can do is unsubscribe that one address (idempotently).
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """GET shows a confirm page and changes nothing (mail scanners open links); POST
    unsubscribes, both from the page's button and from a mail provider's one-click request."""
    user, valid = _reader_for_token(token)
    if not valid:
        return render(request, "accounts/unsubscribe_invalid.html", status=400)
    subscription = getattr(user, "subscription", None) if user else None
    one_click = request.POST.get("List-Unsubscribe") == "One-Click"
    if request.method == "POST" and user is not None:
        reason = (
            _("One-click unsubscribe from the mail app.")
            if one_click
            else _("Unsubscribe link in an email.")
        )
        subscription = unsubscribe_reader(user=user, reason=reason)
    if request.method == "POST" and one_click:
        # The mail provider only needs a 2xx; no redirect, no page.
        return HttpResponse(_("You are unsubscribed."), content_type="text/plain; charset=utf-8")
    return render(
        request,
        "accounts/unsubscribe.html",
        {
            "token": token,
            "reader": user,
            "subscription": subscription,
            "done": request.method == "POST",
        },
    )


@require_POST
def resubscribe(request, token):
    """Undo an unsubscribe from the page the link opened (a normal, CSRF-protected form)."""
    user, valid = _reader_for_token(token)
    if not valid:
        return render(request, "accounts/unsubscribe_invalid.html", status=400)
    subscription = resubscribe_reader(user=user) if user else None
    return render(
        request,
        "accounts/unsubscribe.html",
        {"token": token, "reader": user, "subscription": subscription, "resubscribed": True},
    )
