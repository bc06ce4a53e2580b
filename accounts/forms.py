from allauth.account import forms as allauth_forms
from allauth.account.forms import RequestLoginCodeForm
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext_lazy as _

from accounts import addresses, ratelimits, subscribe_options
from accounts.images import CheckedImageField, clean_image
from accounts.models import User

AVATAR_MAX_EDGE = 800
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class AvatarField(CheckedImageField):
    """The upload checks covers use too (format, bytes, pixels, before decoding), then a clean
    copy: upright, without metadata such as GPS position, at most AVATAR_MAX_EDGE pixels on a
    side."""

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if not upload or upload is initial or not hasattr(upload, "content_type"):
            return upload
        image = clean_image(upload, max_edge=AVATAR_MAX_EDGE)
        stem = (upload.name or "avatar").rsplit("/", 1)[-1].rsplit(".", 1)[0][:80] or "avatar"
        return SimpleUploadedFile(
            f"{stem}.{image.extension}", image.content, content_type=CONTENT_TYPES[image.extension]
        )


def use_address_rule(field: forms.Field) -> None:
    """Check field with the site's address rule (accounts.addresses, which includes Django's
    syntax check and the 254-character limit) instead of Django's check alone, so a refused
    address is told why, not only "Enter a valid email address"."""
    field.validators = [addresses.validate_address]


def add_list_choice(form: forms.Form) -> None:
    """Add the lists a reader may choose (accounts.subscribe_options) to a subscribe form, the
    defaults ticked. A form posted without the field (the footer's small box) means "the
    defaults"; one that showed it must come back with at least one list ticked."""
    options = subscribe_options.offer()
    form.list_options = options
    if not options:
        return
    form.fields["lists"] = forms.MultipleChoiceField(
        label=_("Newsletters"),
        choices=[(option.value, option.label) for option in options],
        initial=[option.value for option in options if option.initial],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    form.fields["lists_shown"] = forms.BooleanField(required=False, widget=forms.HiddenInput)


def chosen_lists(form: forms.Form) -> list[str] | None:
    """Return the lists ticked on a valid subscribe form, or None when it showed no choice."""
    if "lists" not in form.fields or not form.cleaned_data.get("lists_shown"):
        return None
    return list(form.cleaned_data.get("lists") or [])


class ListChoiceMixin:
    def clean(self):
        cleaned = super().clean()
        if (
            "lists" in self.fields
            and cleaned.get("lists_shown")
            and not cleaned.get("lists")
            and "lists" not in self.errors
        ):
            self.add_error("lists", _("Choose at least one newsletter."))
        return cleaned


class SubscribeForm(ListChoiceMixin, RequestLoginCodeForm):
    """Subscribe with only an email. New and known addresses get the same answer: a code."""

    source = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    # The referral code of the /r/<code>/ link the reader came by, carried across the form so
    # it works without cookies too; an unknown code is ignored (accounts.referrals).
    ref = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("Email address")
        # The longest address an email column can hold; allauth's own field allows 320.
        self.fields["email"].max_length = 254
        use_address_rule(self.fields["email"])
        self.fields["email"].widget.attrs.update(
            {"placeholder": "you@example.com", "autocomplete": "email"}
        )
        add_list_choice(self)

    def clean_email(self) -> str:
        email = addresses.clean(self.cleaned_data["email"])
        if not ratelimits.consume(self._request, action="subscribe", key=email):
            raise forms.ValidationError(
                _("Too many attempts from here. Please wait a few minutes and try again."),
                code="rate_limited",
            )
        return email

    @property
    def _request(self):
        from allauth.core import context

        return context.request


class LoginCodeForm(RequestLoginCodeForm):
    """allauth's "email me a code" form (ACCOUNT_FORMS), with the site's address rule first:
    a look-alike of a known address is refused for what it is, before allauth looks it up
    or emails it anything. The message depends on the address alone, never on an account."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        use_address_rule(self.fields["email"])

    def clean_email(self) -> str:
        if self.cleaned_data.get("email"):
            self.cleaned_data["email"] = addresses.clean(self.cleaned_data["email"])
        return super().clean_email()


class AddEmailForm(allauth_forms.AddEmailForm):
    """allauth's "add an address" form (the email page, ACCOUNT_FORMS) with the rule's
    messages; the adapter's clean_email applies the rule as well."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        use_address_rule(self.fields["email"])


class ResetPasswordForm(allauth_forms.ResetPasswordForm):
    """allauth's password reset form (editors, ACCOUNT_FORMS) with the rule's messages."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        use_address_rule(self.fields["email"])


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name"]
        help_texts = {"display_name": _("Shown beside your comments.")}


class NewsletterForm(forms.Form):
    receive = forms.BooleanField(required=False, label=_("Send me new posts by email"))


class DeleteAccountForm(forms.Form):
    confirm = forms.CharField(
        label=_("Type DELETE to confirm"),
        max_length=10,
        help_text=_("This removes your account and email address. It cannot be undone."),
    )

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != "DELETE":  # exactly as the label says: a deliberate act, not a near miss
            raise forms.ValidationError(_("Type DELETE to confirm."))
        return value
