"""The editor's forms for a test email and a send, shown on the post admin."""

import re
from urllib.parse import urlencode

from django import forms
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Subscription
from newsletter.models import Newsletter, NewsletterSend, Segment


class NewsletterContentForm(forms.Form):
    """Which form of the post the email carries: in full, or a teaser."""

    mode = forms.ChoiceField(
        label=_("Content"), choices=NewsletterSend.Mode.choices, initial=NewsletterSend.Mode.FULL
    )
    teaser_words = forms.IntegerField(
        label=_("Teaser length in words"),
        initial=150,
        min_value=20,
        max_value=2000,
        help_text=_(
            "A teaser stops at the post's “continue reading” divider; this length is used "
            "only when the post has none."
        ),
    )


class NewsletterTestForm(NewsletterContentForm):
    """A test email: the post's email, to the editor or to a few addresses they type."""

    MAX_RECIPIENTS = 5

    recipients = forms.CharField(
        label=_("Send to"),
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"class": "vTextField", "autocomplete": "off"}),
        help_text=_(
            "Up to 5 email addresses, separated by commas. Leave empty to send it to yourself. "
            "The links in a test email (unsubscribe, poll votes) are your own."
        ),
    )

    field_order = ["recipients", "mode", "teaser_words"]

    def clean_recipients(self) -> list[str]:
        """Return the typed addresses, checked, each once, in the order typed."""
        typed = [part.strip() for part in re.split(r"[,;\s]+", self.cleaned_data["recipients"])]
        addresses: dict[str, str] = {}
        for address in filter(None, typed):
            addresses.setdefault(address.lower(), address)
        bad = []
        for address in addresses.values():
            try:
                validate_email(address)
            except forms.ValidationError:
                bad.append(address)
        if bad:
            raise forms.ValidationError(
                _("These are not email addresses: %(addresses)s"),
                params={"addresses": ", ".join(bad)},
                code="invalid",
            )
        if len(addresses) > self.MAX_RECIPIENTS:
            raise forms.ValidationError(
                _("A test goes to at most %(max)d addresses; you typed %(count)d."),
                params={"max": self.MAX_RECIPIENTS, "count": len(addresses)},
                code="too_many",
            )
        return list(addresses.values())


class NewsletterSendForm(NewsletterContentForm):
    """Confirming a send to a newsletter's readers (optionally a segment of them)."""

    NOW = "now"
    AT_PUBLISH_TIME = "publish_time"

    # Follows from the post: a published post goes out now, a scheduled one at its publish time.
    # The page says which; the field only carries it so a stale page cannot send the wrong way.
    when = forms.ChoiceField(
        choices=[(NOW, _("Now")), (AT_PUBLISH_TIME, _("At the post's publish time"))],
        initial=NOW,
        widget=forms.HiddenInput,
    )
    newsletter = forms.ModelChoiceField(
        label=_("Newsletter"),
        queryset=Newsletter.objects.current(),
        empty_label=None,
        # Left out of the post, it means the default newsletter (older pages and scripts).
        required=False,
        help_text=_("The email goes to this newsletter's subscribers."),
    )
    segment = forms.ModelChoiceField(
        label=_("Segment"),
        queryset=Segment.objects.all(),
        required=False,
        empty_label=_("Everyone on the newsletter"),
        help_text=_("Only the newsletter's subscribers in this segment."),
    )
    confirm = forms.BooleanField(
        label=_("I checked the test email; send this post to the subscribers."),
        error_messages={"required": _("Tick the box to confirm the send.")},
    )

    def __init__(self, *args, post, **kwargs):
        super().__init__(*args, **kwargs)
        self.post = post
        self.fields["newsletter"].initial = Newsletter.objects.default().pk
        if post.published_at and post.published_at > timezone.now():
            self.fields["when"].initial = self.AT_PUBLISH_TIME

    def clean_when(self) -> str:
        when = self.cleaned_data["when"]
        if when == self.NOW and not self.post.is_published():
            raise forms.ValidationError(
                _("The post is not published yet. Publish it, or send at its publish time.")
            )
        if when == self.AT_PUBLISH_TIME and not (
            self.post.published_at and self.post.published_at > timezone.now()
        ):
            raise forms.ValidationError(_("The post has no publish time in the future."))
        return when

    def clean_newsletter(self) -> Newsletter:
        return self.cleaned_data.get("newsletter") or Newsletter.objects.default()

    def audience(self) -> tuple[Newsletter, Segment | None]:
        """Return the newsletter and segment the form names, valid or not yet confirmed:
        for the recipients' count shown beside the choice."""
        newsletter, segment = Newsletter.objects.default(), None
        for name in ("newsletter", "segment"):
            field = self.fields[name]
            raw = self[name].value()
            try:
                value = field.clean(raw)
            except forms.ValidationError:
                continue
            if name == "newsletter" and value is not None:
                newsletter = value
            elif name == "segment":
                segment = value
        return newsletter, segment


class ReaderPreviewForm(forms.Form):
    """Whose copy of an email to preview, at which width, in light or dark (a GET form)."""

    DESKTOP = "desktop"
    PHONE = "phone"

    subscriber = forms.EmailField(
        label=_("As received by"),
        required=False,
        help_text=_(
            "A subscriber's email address: the preview carries their own unsubscribe and vote "
            "links. Leave empty to see your own copy."
        ),
    )
    width = forms.ChoiceField(
        choices=[(DESKTOP, _("Desktop")), (PHONE, _("Phone"))],
        initial=DESKTOP,
        required=False,
        widget=forms.HiddenInput,
    )

    LIGHT = "light"
    DARK = "dark"

    scheme = forms.ChoiceField(
        choices=[(LIGHT, _("Light")), (DARK, _("Dark"))],
        initial=LIGHT,
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, data=None, *, editor, **kwargs):
        # Unbound fields take their initial values, so the first visit shows a preview at once.
        values = {name: field.initial for name, field in self.base_fields.items()}
        values.update({key: value for key, value in (data or {}).items() if key in values})
        super().__init__(values, **kwargs)
        self.editor = editor

    def clean_subscriber(self):
        email = self.cleaned_data["subscriber"]
        if not email:
            return self.editor
        subscription = (
            Subscription.objects.active()
            .select_related("user")
            .filter(user__email__iexact=email)
            .first()
        )
        if subscription is None:
            raise forms.ValidationError(
                _("No active subscriber has this address. Check it, or leave it empty.")
            )
        return subscription.user

    def clean_width(self):
        return self.cleaned_data["width"] or self.DESKTOP

    def clean_scheme(self):
        return self.cleaned_data["scheme"] or self.LIGHT

    def preview_context(self, *, here: str, email_url: str) -> dict:
        """What a preview page shows of this valid form: whose copy, width and scheme, the
        framed email's address and links that switch width or scheme and keep the rest."""
        data = self.cleaned_data
        query = {
            name: (self.data.get(name) or "") if name == "subscriber" else data[name]
            for name in self.fields
        }

        def link(**change) -> str:
            return f"{here}?{urlencode({**query, **change})}"

        return {
            "recipient": data["subscriber"],
            "width": data["width"],
            "scheme": data["scheme"],
            "email_url": f"{email_url}?{urlencode(query)}",
            "desktop_url": link(width=self.DESKTOP),
            "phone_url": link(width=self.PHONE),
            "light_url": link(scheme=self.LIGHT),
            "dark_url": link(scheme=self.DARK),
        }


class NewsletterPreviewForm(ReaderPreviewForm, NewsletterContentForm):
    """A post's email as one reader gets it: whose copy, in full or as a teaser, width, scheme."""

    field_order = ["subscriber", "mode", "teaser_words", "width", "scheme"]


class WelcomePreviewForm(ReaderPreviewForm):
    """A welcome step's email as one reader gets it (the help names the links it carries)."""

    def __init__(self, data=None, *, editor, may_choose_reader: bool = True, **kwargs):
        super().__init__(data, editor=editor, **kwargs)
        self.may_choose_reader = may_choose_reader
        self.fields["subscriber"].help_text = _(
            "A subscriber's email address: the preview carries their own unsubscribe, "
            "subscription and invitation links. Leave empty to see your own copy."
        )

    def clean_subscriber(self):
        chosen = super().clean_subscriber()
        if chosen != self.editor and not self.may_choose_reader:
            raise forms.ValidationError(
                _(
                    "Only editors who may change newsletters see a reader's copy, as it "
                    "carries their personal links. Leave it empty to see your own."
                )
            )
        return chosen


class ListsForm(forms.Form):
    """The newsletters a reader receives: every one they may choose, and any other they get."""

    lists = forms.TypedMultipleChoiceField(
        label=_("Newsletters"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, offered, **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = offered
        self.fields["lists"].choices = [
            (newsletter.pk, newsletter.name) for newsletter, _subscribed in offered
        ]
        self.fields["lists"].initial = [
            newsletter.pk for newsletter, subscribed in offered if subscribed
        ]

    def options(self):
        """Yield (newsletter, checked) for the template: the posted choice if any."""
        if self.is_bound:
            chosen = {str(value) for value in self.data.getlist(self.add_prefix("lists"))}
            for newsletter, _subscribed in self.offered:
                yield newsletter, str(newsletter.pk) in chosen
        else:
            yield from self.offered
