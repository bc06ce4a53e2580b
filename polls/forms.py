from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from polls.models import MAX_CHOICES, MIN_CHOICES, Poll
from polls.services import clean_choice_lines, plan_choices, set_poll_choices, validate_choice_texts


class VoteForm(forms.Form):
    """A reader's pick. Valid choices come from the poll itself, so a choice id from another
    poll, a huge number or text is refused here without a database lookup."""

    choice = forms.TypedChoiceField(
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Pick a choice first."),
            "invalid_choice": _("That choice is not part of this poll."),
        },
    )

    def __init__(self, *args, poll: Poll, **kwargs):
        super().__init__(*args, **kwargs)
        self.poll = poll
        self.fields["choice"].choices = [(choice.pk, choice.text) for choice in poll.choices.all()]


class PollAdminForm(forms.ModelForm):
    """The poll inline on a post: Django admin has no nested inlines, so the choices are one
    textarea, one choice per line, turned into ordered Choice rows on save."""

    choices_text = forms.CharField(
        label=_("Choices"),
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
        help_text=_(
            "One choice per line, %(min)d to %(max)d, in the order readers see them. "
            "Editing a line keeps its votes; a choice with votes cannot be removed."
        )
        % {"min": MIN_CHOICES, "max": MAX_CHOICES},
    )

    class Meta:
        model = Poll
        fields = [
            "question",
            "choices_text",
            "placement",
            "opens_at",
            "closes_at",
            "show_results_before_voting",
            "allow_vote_change",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["choices_text"] = "\n".join(
                choice.text for choice in self.instance.choices.order_by("position", "id")
            )

    def clean_choices_text(self):
        texts = clean_choice_lines(self.cleaned_data["choices_text"])
        problems = validate_choice_texts(texts)
        if problems:
            raise ValidationError(problems)
        _kept, _renamed, _created, removed = plan_choices(poll=self.instance, texts=texts)
        voted = [choice.text for choice in removed if choice.votes.exists()]
        if voted:
            raise ValidationError(
                _(
                    "Readers voted for %(choices)s, so it cannot be removed. Keep the line, or "
                    "close this poll and add a new one."
                )
                % {"choices": ", ".join(f"“{text}”" for text in voted)}
            )
        return texts

    def save(self, commit=True):
        poll = super().save(commit=commit)
        if commit:
            self._save_choices()
        else:
            save_m2m = self.save_m2m

            def save_m2m_and_choices():
                save_m2m()
                self._save_choices()

            self.save_m2m = save_m2m_and_choices
        return poll

    def _save_choices(self):
        if "choices_text" in self.cleaned_data:
            set_poll_choices(poll=self.instance, texts=self.cleaned_data["choices_text"])
