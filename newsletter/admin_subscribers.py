"""The subscriber as a person, on accounts' subscriber admin: tags, a note, the newsletters,
and a short history (deliveries, votes, comments); bulk tag and untag from the list.

A mixin, composed into accounts' SubscriptionAdmin by the project package
(futureforward/admin.py), so accounts never imports the newsletter.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import ExportColumn
from comments.models import Comment
from newsletter import audience
from newsletter.admin_audience import TagChoiceForm
from newsletter.models import Delivery, Membership, SubscriberNote, SubscriberTag
from polls.models import Vote

HISTORY_ROWS = 10


class SubscriberFormMixin(forms.ModelForm):
    """Adds the reader's tags and the editors' note to the subscription's form."""

    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"), queryset=SubscriberTag.objects.all(), required=False
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For editors only; the reader never sees it."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user_id = self.instance.user_id
        if user_id:
            self.initial["tags"] = list(
                SubscriberTag.readers.through.objects.filter(user_id=user_id).values_list(
                    "subscribertag_id", flat=True
                )
            )
            note = SubscriberNote.objects.filter(user_id=user_id).first()
            self.initial["note"] = note.text if note else ""


def subscriber_history(user) -> dict:
    """Return a reader's newsletters and their latest deliveries, votes and comments: a few
    bounded queries, each row's related objects read in the same query."""
    return {
        "memberships": list(
            Membership.objects.filter(user=user)
            .select_related("newsletter")
            .order_by("newsletter__position", "newsletter__name")
        ),
        "deliveries": list(
            Delivery.objects.filter(user=user)
            .select_related("send__post", "send__newsletter")
            .order_by("-send__created_at")[:HISTORY_ROWS]
        ),
        "votes": list(
            Vote.objects.filter(user=user)
            .select_related("poll", "choice")
            .order_by("-created_at")[:HISTORY_ROWS]
        ),
        "comments": list(
            Comment.objects.filter(author=user)
            .select_related("post")
            .order_by("-created_at")[:HISTORY_ROWS]
        ),
        "limit": HISTORY_ROWS,
    }


class SubscriberAdminMixin:
    """Tags, note and history on the subscription's page; tag and untag from the list (add
    "tag_selected" and "untag_selected" to the composed admin's actions)."""

    AUDIENCE_ACTIONS = ["tag_selected", "untag_selected"]

    form = SubscriberFormMixin

    def get_fieldsets(self, request, obj=None):
        ours = {"tags", "note", "history"}
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f not in ours]})
            for name, options in super().get_fieldsets(request, obj)
        ]
        fieldsets.append((_("The person"), {"fields": ["tags", "note"]}))
        if obj is not None:
            fieldsets.append((_("Recent activity"), {"fields": ["history"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "history"]

    def export_columns(self) -> list[ExportColumn]:
        """The CSV adds each reader's newsletters and tags, a query per chunk for each."""
        return [
            *super().export_columns(),
            ExportColumn("newsletters", audience.newsletter_names_by_reader),
            ExportColumn("tags", audience.tag_names_by_reader),
        ]

    def get_list_display(self, request):
        return [*super().get_list_display(request), "tag_names"]

    def get_list_filter(self, request):
        return [*super().get_list_filter(request), "user__subscriber_tags"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("user__subscriber_tags")

    @admin.display(description=_("tags"))
    def tag_names(self, obj) -> str:
        return ", ".join(tag.name for tag in obj.user.subscriber_tags.all())

    @admin.display(description=_("history"))
    def history(self, obj) -> str:
        return render_to_string(
            "newsletter/admin/_subscriber_history.html", subscriber_history(obj.user)
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "tags" in form.cleaned_data:
            obj.user.subscriber_tags.set(form.cleaned_data["tags"])
        if "note" in form.cleaned_data:
            SubscriberNote.objects.update_or_create(
                user=obj.user, defaults={"text": form.cleaned_data["note"]}
            )

    def _tag_action(self, request, queryset, *, add: bool):
        form = TagChoiceForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            tag = form.chosen_tag()
            user_ids = queryset.values("user_id")
            if add:
                count = audience.tag_readers(tag=tag, readers=User.objects.filter(pk__in=user_ids))
                text = gettext("Tag “%(tag)s” added to %(count)d subscribers.")
            else:
                count = audience.untag_readers(
                    tag=tag, user_ids=queryset.values_list("user_id", flat=True)
                )
                text = gettext("Tag “%(tag)s” taken off %(count)d subscribers.")
            self.message_user(request, text % {"tag": tag.name, "count": count})
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Tag subscribers") if add else gettext("Untag subscribers"),
            "form": form,
            "selected": queryset.select_related("user")[:50],
            "selected_count": queryset.count(),
            "selected_ids": queryset.values_list("pk", flat=True),
            "action": "tag_selected" if add else "untag_selected",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "add": add,
        }
        return TemplateResponse(request, "newsletter/admin/subscribers_tag.html", context)

    @admin.action(description=_("Tag selected subscribers…"), permissions=["change"])
    def tag_selected(self, request, queryset):
        return self._tag_action(request, queryset, add=True)

    @admin.action(description=_("Untag selected subscribers…"), permissions=["change"])
    def untag_selected(self, request, queryset):
        return self._tag_action(request, queryset, add=False)
