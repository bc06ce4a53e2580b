from django import forms
from django.utils.translation import gettext_lazy as _

from comments.models import MAX_LENGTH, Comment, CommentReport
from comments.text import normalize

CANT_REPLY_MESSAGE = _(
    "You can't reply to this comment: it was removed, deleted or is awaiting review."
)


class CommentTextField(forms.CharField):
    """Plain text with line endings normalised before the length check, so a browser sending
    CRLF for each newline cannot push a text its counter accepted over the limit."""

    def to_python(self, value):
        return super().to_python(normalize(value) if isinstance(value, str) else value)


def _text_field(label):
    return CommentTextField(
        label=label,
        max_length=MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_LENGTH}),
        error_messages={
            "required": _("Write something before posting."),
            "max_length": _(
                "A comment can be at most %(limit_value)d characters (this one has %(show_value)d)."
            ),
        },
    )


class CommentForm(forms.Form):
    """A new comment or reply. `website` is a honeypot: hidden from people, filled by bots."""

    body = _text_field(_("Your comment"))
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    notify_replies = forms.BooleanField(
        label=_("Email me when someone replies to me"), required=False
    )
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, post, **kwargs):
        self.post = post
        super().__init__(*args, **kwargs)

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def clean_parent(self):
        """Return the parent Comment (or None) after checking it belongs to this post."""
        parent_id = self.cleaned_data.get("parent")
        if not parent_id:
            return None
        parent = Comment.objects.filter(pk=parent_id).select_related("post").first()
        if parent is None:
            raise forms.ValidationError(_("The comment you are replying to no longer exists."))
        if parent.post_id != self.post.pk:
            raise forms.ValidationError(_("That comment belongs to another post."))
        if not parent.accepts_replies():
            raise forms.ValidationError(CANT_REPLY_MESSAGE)
        return parent


class EditCommentForm(forms.Form):
    body = _text_field(_("Edit your comment"))


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("What is wrong with this comment?"),
        choices=CommentReport.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a reason for the report.")},
    )
    details = forms.CharField(
        label=_("Anything the editors should know? (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 1000}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == CommentReport.Reason.OTHER and not cleaned.get("details"):
            self.add_error("details", _("Tell the editors what is wrong."))
        return cleaned
