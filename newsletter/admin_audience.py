"""The audience in the admin: newsletters (with "move subscribers to…"), saved segments (live
count, CSV export, tag everyone) and subscriber tags. Registered from newsletter/admin.py."""

from __future__ import annotations

import csv
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Subscription
from newsletter import audience
from newsletter.admin_welcome import WelcomePreviewMixin, WelcomeStepInline
from newsletter.models import (
    Membership,
    Newsletter,
    ReferralMilestone,
    ReferralReward,
    Segment,
    SubscriberTag,
)
from newsletter.segments import (
    ACTIVITY,
    MAX_REFERRALS,
    describe_conditions,
    segment_count,
    segment_readers,
    validate_conditions,
)
from polls.models import Choice


class MoveMembersForm(forms.Form):
    target = forms.ModelChoiceField(
        label=_("Move their subscribers to"), queryset=Newsletter.objects.current()
    )


@admin.register(Newsletter)
class NewsletterAdmin(WelcomePreviewMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "subscribed",
        "is_default",
        "is_choosable",
        "is_archived",
        "position",
    ]
    list_editable = ["position"]
    list_filter = ["is_archived", "is_default", "is_choosable"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    actions = ["move_members"]
    inlines = [WelcomeStepInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_subscribed=Count(
                    "memberships", filter=Q(memberships__status=Membership.Status.SUBSCRIBED)
                ),
                n_members=Count("memberships"),
            )
        )

    @admin.display(description=_("subscribed"), ordering="n_subscribed")
    def subscribed(self, obj) -> int:
        return obj.n_subscribed

    def delete_view(self, request, object_id, extra_context=None):
        newsletter = self.get_object(request, object_id)
        if (
            newsletter is not None
            and newsletter.n_members
            and self.has_delete_permission(request, newsletter)
        ):
            messages.error(
                request,
                gettext(
                    "%(name)s has %(count)d subscribers (present and past). Move them to "
                    "another newsletter first (the “Move subscribers to…” action), or archive it."
                )
                % {"name": newsletter.name, "count": newsletter.n_members},
            )
            return redirect("admin:newsletter_newsletter_change", newsletter.pk)
        return super().delete_view(request, object_id, extra_context)

    def delete_queryset(self, request, queryset):
        # The bulk "delete selected" action: only newsletters nobody is or was on.
        if queryset.filter(memberships__isnull=False).exists():
            raise PermissionDenied
        super().delete_queryset(request, queryset)

    @admin.action(description=_("Move subscribers to…"))
    def move_members(self, request, queryset):
        form = MoveMembersForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            target = form.cleaned_data["target"]
            moved = sum(
                audience.move_members(source=newsletter, target=target) for newsletter in queryset
            )
            self.message_user(
                request,
                gettext("%(count)d memberships moved to %(name)s.")
                % {"count": moved, "name": target.name},
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Move subscribers to another newsletter"),
            "form": form,
            "newsletters": queryset,
            "action": "move_members",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "newsletter/admin/move_members.html", context)


@admin.register(SubscriberTag)
class SubscriberTagAdmin(admin.ModelAdmin):
    list_display = ["name", "readers_count", "created_at"]
    search_fields = ["name"]
    exclude = ["readers"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_readers=Count("readers"))

    @admin.display(description=_("subscribers"), ordering="n_readers")
    def readers_count(self, obj) -> int:
        return obj.n_readers


# --- Segments -----------------------------------------------------------------------------------


class PollChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.poll.question} → {obj.text}"


class SegmentForm(forms.ModelForm):
    """A segment's conditions as form fields (each optional, all must hold), plus any further
    conditions written as JSON. Saved as the validated JSON list (newsletter.segments)."""

    newsletter = forms.ModelChoiceField(
        label=_("On newsletter"), queryset=Newsletter.objects.all(), required=False
    )
    status = forms.ChoiceField(
        label=_("Subscription status"),
        choices=[("", "---------"), *Subscription.Status.choices],
        required=False,
    )
    has_tags = forms.ModelMultipleChoiceField(
        label=_("Has every tag"), queryset=SubscriberTag.objects.all(), required=False
    )
    lacks_tags = forms.ModelMultipleChoiceField(
        label=_("Has none of the tags"), queryset=SubscriberTag.objects.all(), required=False
    )
    signed_up_after = forms.DateField(
        label=_("Signed up after"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    signed_up_before = forms.DateField(
        label=_("Signed up before"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    signed_up_within = forms.IntegerField(
        label=_("Signed up in the last (days)"), min_value=1, max_value=36500, required=False
    )
    source = forms.CharField(label=_("Signup source"), max_length=100, required=False)
    activity = forms.ChoiceField(
        label=_("Active on the site"),
        choices=[
            ("", "---------"),
            ("voted", _("Voted")),
            ("commented", _("Commented")),
            ("thumbs_up", _("Gave a thumbs up")),
        ],
        required=False,
    )
    activity_days = forms.IntegerField(
        label=_("… in the last (days)"), min_value=1, max_value=36500, required=False
    )
    poll_answer = PollChoiceField(
        label=_("Answered a poll with"),
        queryset=Choice.objects.select_related("poll").order_by("-poll__created_at", "position"),
        required=False,
    )
    referrals_made = forms.IntegerField(
        label=_("Made at least (referrals)"),
        min_value=1,
        max_value=MAX_REFERRALS,
        required=False,
        help_text=_("Counted referrals only: held and revoked ones do not count."),
        error_messages={
            "invalid": _("Write the number of referrals as a whole number, 1 or more."),
            "min_value": _("Write the number of referrals as a whole number, 1 or more."),
        },
    )
    referrals_days = forms.IntegerField(
        label=_("… counted in the last (days)"),
        min_value=1,
        max_value=36500,
        required=False,
        help_text=_("Leave empty to count every referral ever made."),
    )
    more_conditions = forms.CharField(
        label=_("More conditions (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            'A list such as [{"kind": "source", "source": "import"}]; see the conditions '
            "in the README's Newsletter section."
        ),
    )

    class Meta:
        model = Segment
        fields = ["name", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial.update(fields_from_conditions(self.instance.conditions))

    def clean(self):
        cleaned = super().clean()
        data = cleaned
        conditions = []
        if data.get("newsletter"):
            conditions.append({"kind": "newsletter", "newsletter": data["newsletter"].pk})
        if data.get("status"):
            conditions.append({"kind": "status", "status": data["status"]})
        for tag in data.get("has_tags") or []:
            conditions.append({"kind": "tag", "tag": tag.pk, "has": True})
        for tag in data.get("lacks_tags") or []:
            conditions.append({"kind": "tag", "tag": tag.pk, "has": False})
        if data.get("signed_up_after"):
            conditions.append(
                {"kind": "signup", "when": "after", "date": data["signed_up_after"].isoformat()}
            )
        if data.get("signed_up_before"):
            conditions.append(
                {"kind": "signup", "when": "before", "date": data["signed_up_before"].isoformat()}
            )
        if data.get("signed_up_within"):
            conditions.append(
                {"kind": "signup", "when": "within", "days": data["signed_up_within"]}
            )
        if data.get("source"):
            conditions.append({"kind": "source", "source": data["source"]})
        if data.get("activity") or data.get("activity_days"):
            if not (data.get("activity") and data.get("activity_days")):
                self.add_error(
                    "activity_days", gettext("Choose the activity and the number of days.")
                )
            else:
                conditions.append(
                    {"kind": "activity", "action": data["activity"], "days": data["activity_days"]}
                )
        if data.get("poll_answer"):
            choice = data["poll_answer"]
            conditions.append({"kind": "poll_answer", "poll": choice.poll_id, "choice": choice.pk})
        if data.get("referrals_made"):
            referrals = {"kind": "referrals", "count": data["referrals_made"]}
            if data.get("referrals_days"):
                referrals["days"] = data["referrals_days"]
            conditions.append(referrals)
        elif data.get("referrals_days"):
            self.add_error(
                "referrals_made", gettext("Say how many referrals, or leave the days empty.")
            )
        try:
            conditions += validate_conditions(data.get("more_conditions") or [])
            self.instance.conditions = validate_conditions(conditions)
        except forms.ValidationError as exc:
            self.add_error("more_conditions", exc)
        return cleaned


def fields_from_conditions(conditions) -> dict:
    """Return the form's initial values for stored conditions; what the fields cannot show
    goes in the JSON box."""
    initial: dict = {"has_tags": [], "lacks_tags": []}
    rest = []
    for condition in conditions or []:
        kind = condition.get("kind")
        if kind == "newsletter" and "newsletter" not in initial:
            initial["newsletter"] = condition["newsletter"]
        elif kind == "status" and "status" not in initial:
            initial["status"] = condition["status"]
        elif kind == "tag":
            initial["has_tags" if condition.get("has", True) else "lacks_tags"].append(
                condition["tag"]
            )
        elif kind == "signup" and f"signed_up_{condition['when']}" not in initial:
            value = condition["days"] if condition["when"] == "within" else condition["date"]
            initial[f"signed_up_{condition['when']}"] = value
        elif kind == "source" and "source" not in initial:
            initial["source"] = condition["source"]
        elif kind == "activity" and "activity" not in initial and condition["action"] in ACTIVITY:
            initial["activity"], initial["activity_days"] = condition["action"], condition["days"]
        elif kind == "poll_answer" and "poll_answer" not in initial:
            if Choice.objects.filter(pk=condition["choice"], poll_id=condition["poll"]).exists():
                initial["poll_answer"] = condition["choice"]
            else:
                rest.append(condition)
        elif kind == "referrals" and "referrals_made" not in initial:
            initial["referrals_made"] = condition["count"]
            initial["referrals_days"] = condition.get("days")
        else:
            rest.append(condition)
    if rest:
        initial["more_conditions"] = json.dumps(rest)
    return initial


class _Echo:
    def write(self, value):
        return value


def export_segment_rows(segment: Segment):
    """Yield the CSV header and one row per reader in the segment, read in chunks."""
    yield ["email", "display name", "status", "source", "signed up", "tags"]
    readers = (
        segment_readers(segment.conditions)
        .order_by("pk")
        .values_list(
            "pk",
            "email",
            "display_name",
            "subscription__status",
            "subscription__source",
            "subscription__created_at",
        )
    )
    through = SubscriberTag.readers.through
    chunk = []

    def flush(rows):
        tags: dict[int, list[str]] = {}
        for user_id, name in through.objects.filter(
            user_id__in=[row[0] for row in rows]
        ).values_list("user_id", "subscribertag__name"):
            tags.setdefault(user_id, []).append(name)
        for pk, *values in rows:
            created = values[-1]
            yield [
                _csv_safe(value)
                for value in [
                    *values[:-1],
                    created.isoformat() if created else "",
                    ";".join(sorted(tags.get(pk, []))),
                ]
            ]

    for row in readers.iterator(chunk_size=2000):
        chunk.append(row)
        if len(chunk) == 2000:
            yield from flush(chunk)
            chunk = []
    if chunk:
        yield from flush(chunk)


def _csv_safe(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


class TagChoiceForm(forms.Form):
    tag = forms.ModelChoiceField(
        label=_("Tag"), queryset=SubscriberTag.objects.all(), required=False
    )
    new_tag = forms.CharField(label=_("or a new tag"), max_length=60, required=False)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("tag") and not cleaned.get("new_tag", "").strip():
            raise forms.ValidationError(gettext("Choose a tag or name a new one."))
        return cleaned

    def chosen_tag(self) -> SubscriberTag:
        if self.cleaned_data.get("tag"):
            return self.cleaned_data["tag"]
        tag, _created = SubscriberTag.objects.get_or_create(
            name=self.cleaned_data["new_tag"].strip()
        )
        return tag


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    list_display = ["name", "description", "who", "subscribers", "updated_at", "tools"]
    search_fields = ["name"]
    change_form_template = "newsletter/admin/segment_change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "description"]}),
        (
            _("Who is in it (every condition filled in must hold)"),
            {
                "fields": [
                    "newsletter",
                    "status",
                    ("has_tags", "lacks_tags"),
                    ("signed_up_after", "signed_up_before", "signed_up_within"),
                    "source",
                    ("activity", "activity_days"),
                    "poll_answer",
                    ("referrals_made", "referrals_days"),
                    "more_conditions",
                ]
            },
        ),
    ]

    @admin.display(description=_("who is in it"))
    def who(self, obj) -> str:
        return describe_conditions(obj.conditions)

    @admin.display(description=_("subscribers now"))
    def subscribers(self, obj) -> int:
        return segment_count(obj.conditions)

    @admin.display(description=_("tools"))
    def tools(self, obj):
        from django.utils.html import format_html

        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:newsletter_segment_export", args=[obj.pk]),
            gettext("Export CSV"),
            reverse("admin:newsletter_segment_tag", args=[obj.pk]),
            gettext("Tag everyone"),
        )

    def get_urls(self):
        return [
            path(
                "count/",
                self.admin_site.admin_view(self.count_view),
                name="newsletter_segment_count",
            ),
            path(
                "<int:object_id>/export/",
                self.admin_site.admin_view(self.export_view),
                name="newsletter_segment_export",
            ),
            path(
                "<int:object_id>/tag/",
                self.admin_site.admin_view(self.tag_view),
                name="newsletter_segment_tag",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, **kwargs):
        context["count_url"] = reverse("admin:newsletter_segment_count")
        obj = kwargs.get("obj")
        if obj is not None and obj.pk and not context["adminform"].form.is_bound:
            context["segment_count"] = segment_count(obj.conditions)
        return super().render_change_form(request, context, *args, **kwargs)

    def count_view(self, request):
        """The live count of the conditions in the form (htmx, as the editor changes them), or
        the Preview button's page without JavaScript. Saves nothing."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        if request.method != "POST":
            return redirect("admin:newsletter_segment_changelist")
        form = SegmentForm(request.POST, instance=Segment())
        form.is_valid()
        errors = [
            error
            for name in ("more_conditions", "activity_days", "referrals_made", "referrals_days")
            for error in form.errors.get(name, [])
        ]
        count = None if errors else segment_count(form.instance.conditions)
        context = {"count": count, "errors": errors}
        if request.headers.get("HX-Request"):
            return TemplateResponse(request, "newsletter/admin/_segment_count.html", context)
        context.update(
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": gettext("Segment preview"),
                "conditions": form.instance.conditions,
                "description": "" if errors else describe_conditions(form.instance.conditions),
            }
        )
        return TemplateResponse(request, "newsletter/admin/segment_preview.html", context)

    def export_view(self, request, object_id):
        """Everyone in the segment as CSV, streamed (read in chunks, never all in memory)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        segment = get_object_or_404(Segment, pk=object_id)
        writer = csv.writer(_Echo())
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in export_segment_rows(segment)),
            content_type="text/csv; charset=utf-8",
        )
        filename = f"segment-{segment.pk}-{timezone.localdate().isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def tag_view(self, request, object_id):
        """Put one tag on everyone in the segment (one statement)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        segment = get_object_or_404(Segment, pk=object_id)
        form = TagChoiceForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            tag = form.chosen_tag()
            added = audience.tag_readers(tag=tag, readers=segment_readers(segment.conditions))
            messages.success(
                request,
                gettext("Tag “%(tag)s” added to %(count)d subscribers.")
                % {"tag": tag.name, "count": added},
            )
            return redirect("admin:newsletter_segment_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Tag everyone in %(name)s") % {"name": segment.name},
            "form": form,
            "segment": segment,
            "count": segment_count(segment.conditions),
        }
        return TemplateResponse(request, "newsletter/admin/segment_tag.html", context)


class ReferralRewardInline(admin.TabularInline):
    model = ReferralReward
    extra = 0
    fields = ["user", "reached_at", "sent_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ReferralMilestone)
class ReferralMilestoneAdmin(admin.ModelAdmin):
    """Milestones editors set: a number of counted referrals and the reward email it sends."""

    list_display = ["count", "subject", "is_active", "rewards_sent"]
    list_editable = ["is_active"]
    inlines = [ReferralRewardInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(sent=Count("rewards", filter=Q(rewards__sent_at__isnull=False)))
        )

    @admin.display(description=_("rewards sent"), ordering="sent")
    def rewards_sent(self, obj):
        return obj.sent
