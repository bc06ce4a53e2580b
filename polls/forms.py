from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from polls.models import MAX_CHOICES, MIN_CHOICES, Poll
from polls.services import clean_choice_lines, plan_choices, set_poll_choices, validate_choice_texts


class VoteForm(forms.Form):
    """A reader's pick: a choice id. Text and numbers out of range are refused here; a choice of
    another poll is refused by the database itself when the vote is written (the composite
    foreign key of polls 0002), with the same message, so checking costs no query."""

    choice = forms.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        error_messages={
            "required": _("Pick a choice first."),
            "invalid": _("That choice is not part of this poll."),
            "min_value": _("That choice is not part of this poll."),
            "max_value": _("That choice is not part of this poll."),
        },
    )


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
