from allauth.account.forms import RequestLoginCodeForm
from allauth.core import ratelimit
from django import forms
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from accounts.models import User, normalize_email


class SubscribeForm(RequestLoginCodeForm):
    """Subscribe with only an email. New and known addresses get the same answer: a code."""

    source = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("Email address")
        # The longest address an email column can hold; allauth's own field allows 320.
        self.fields["email"].max_length = 254
        self.fields["email"].validators.append(MaxLengthValidator(254))
        self.fields["email"].widget.attrs.update(
            {"placeholder": "you@example.com", "autocomplete": "email"}
        )

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if not ratelimit.consume(self._request, action="subscribe", key=email):
            raise forms.ValidationError(
                _("Too many attempts from here. Please wait a few minutes and try again."),
                code="rate_limited",
            )
        return email

    @property
    def _request(self):
        from allauth.core import context

        return context.request


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
        if value.upper() != "DELETE":
            raise forms.ValidationError(_("Type DELETE to confirm."))
        return value
