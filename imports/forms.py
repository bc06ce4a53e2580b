from django import forms
from django.conf import settings
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from imports.models import Import
from newsletter.models import Newsletter


class ImportUploadForm(forms.Form):
    """The upload: which platform the file comes from, the file, and where subscribers go."""

    kind = forms.ChoiceField(
        label=_("Exported from"), choices=Import.Kind.choices, widget=forms.RadioSelect
    )
    file = forms.FileField(label=_("Export file"))
    newsletter = forms.ModelChoiceField(
        label=_("Add subscribers to"),
        queryset=Newsletter.objects.current(),
        required=False,
        help_text=_(
            "Used when the file does not say which newsletters each subscriber receives (a "
            "Ghost export does, and missing newsletters are created)."
        ),
    )
    old_site_url = forms.URLField(
        label=_("Old site's address"),
        required=False,
        assume_scheme="https",
        help_text=_(
            "Optional, e.g. https://old.example.com: Ghost exports name their own images "
            "relative to it."
        ),
    )
    posts_author = forms.ModelChoiceField(
        label=_("Author of the posts"),
        queryset=User.objects.filter(is_staff=True, is_active=True).order_by(
            Lower("display_name"), "email"
        ),
        required=False,
        help_text=_(
            "For posts the file names no author of: a Substack export names none. Ghost's "
            "names its own authors."
        ),
    )
    consent = forms.BooleanField(
        label=_("The subscribers in this file agreed to receive this publication's emails."),
        required=False,
    )

    def __init__(self, *args, kind: str = "", editor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["posts_author"].label_from_instance = lambda user: user.public_name
        limit = filesizeformat(settings.IMPORTS_MAX_UPLOAD_BYTES)
        self.fields["file"].help_text = _(
            "Up to %(limit)s. Upload it as the platform gave it to you: nothing is imported "
            "before you have seen the dry run and confirmed."
        ) % {"limit": limit}
        if not self.is_bound:
            self.fields["newsletter"].initial = Newsletter.objects.default().pk
            if editor is not None and editor.is_staff:
                self.fields["posts_author"].initial = editor.pk
            if kind in Import.Kind.values:
                self.fields["kind"].initial = kind

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORTS_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; the limit is %(limit)s. Nothing was imported.")
                % {
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(settings.IMPORTS_MAX_UPLOAD_BYTES),
                }
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("consent"):
            self.add_error(
                "consent", _("Only import people who agreed to receive the publication's emails.")
            )
        return cleaned
