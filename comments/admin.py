"""The editors' side of the discussion: a moderation queue, reports, readers' bans and the
moderation switches. Every state change goes through comments.services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from comments import services
from comments.models import Comment, Commenter, CommentReport, CommentSettings


class QueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("review", _("Needs review (held or reported)")),
            ("visible", _("Visible")),
            ("held", _("Held")),
            ("hidden", _("Hidden")),
            ("removed", _("Removed")),
            ("reported", _("Reported")),
            ("deleted", _("Deleted by author")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        open_reports = Q(open_reports__gt=0)
        if value == "review":
            # A comment its author deleted is gone from the site: nothing left to review.
            # The same rule as the count in the admin's navigation.
            return queryset.awaiting_review()
        if value == "reported":
            return queryset.filter(open_reports)
        if value == "deleted":
            return queryset.exclude(deleted_at=None)
        if value in Comment.Status.values:
            return queryset.filter(status=value)
        return queryset


class ReportInline(admin.TabularInline):
    model = CommentReport
    extra = 0
    can_delete = False
    fields = ["reason", "details", "reporter", "created_at", "resolved_at", "resolved_by"]
    readonly_fields = fields
    verbose_name_plural = _("reports from readers")

    def has_add_permission(self, request, obj=None):
        return False


class BanForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (shown to the reader)"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _ban_page(modeladmin, request, queryset, users, action_name):
    """The confirmation page of a ban action: asks for the reason, then bans."""
    form = BanForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        for user in users:
            services.ban_reader(
                user=user, reason=form.cleaned_data["reason"], banned_by=request.user
            )
        modeladmin.message_user(
            request,
            ngettext("Banned %(count)d reader.", "Banned %(count)d readers.", len(users))
            % {"count": len(users)},
            messages.SUCCESS,
        )
        return None
    return TemplateResponse(
        request,
        "admin/comments/ban_confirm.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": _("Ban readers from commenting"),
            "users": users,
            "queryset": queryset,
            "form": form,
            "action_name": action_name,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": modeladmin.model._meta,
        },
    )


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = [
        "excerpt",
        "author_link",
        "post",
        "state",
        "held_reason",
        "report_count",
        "like_count",
        "created_at",
    ]
    list_filter = [QueueFilter, "status", "post"]
    search_fields = ["body", "author__email", "author__display_name"]
    list_select_related = ["author", "post"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    actions = ["approve", "hide", "remove", "ban_authors"]
    inlines = [ReportInline]
    fields = [
        "post",
        "author",
        "parent_link",
        "body",
        "status",
        "held_reason",
        "like_count",
        "created_at",
        "edited_at",
        "deleted_at",
        "moderated_by",
        "moderated_at",
        "author_history",
    ]
    readonly_fields = [f for f in fields if f != "status"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_reports=Count("reports", filter=Q(reports__resolved_at=None), distinct=True)
            )
        )

    def has_add_permission(self, request):
        return False  # comments come from readers

    def has_delete_permission(self, request, obj=None):
        # Deleting would take every reply with it; "Remove" hides the text and keeps the thread.
        return False

    @admin.display(description=_("status"), ordering="status")
    def state(self, obj):
        """The moderation status, unless the author deleted the comment: that comes first."""
        if obj.is_deleted:
            return _("Deleted by its author")
        return obj.get_status_display()

    @admin.display(description=_("comment"))
    def excerpt(self, obj):
        if obj.is_deleted:
            return _("(deleted by its author)")
        return Truncator(" ".join(obj.body.split())).chars(80)

    @admin.display(description=_("author"), ordering="author__email")
    def author_link(self, obj):
        if obj.author is None:
            return _("a deleted reader")
        url = reverse("admin:comments_comment_changelist") + f"?author__id__exact={obj.author_id}"
        return format_html(
            '<a href="{}" title="{}">{}</a>', url, _("All comments by this reader"), obj.author
        )

    @admin.display(description=_("open reports"), ordering="open_reports")
    def report_count(self, obj):
        return obj.open_reports

    @admin.display(description=_("in reply to"))
    def parent_link(self, obj):
        if obj.parent_id is None:
            return "-"
        url = reverse("admin:comments_comment_change", args=[obj.parent_id])
        return format_html('<a href="{}">{}</a>', url, obj.parent)

    @admin.display(description=_("the author's other comments"))
    def author_history(self, obj):
        if obj.author_id is None:
            return "-"
        recent = (
            Comment.objects.filter(author_id=obj.author_id)
            .exclude(pk=obj.pk)
            .select_related("post")
            .order_by("-created_at")[:10]
        )
        commenter = Commenter.objects.filter(user_id=obj.author_id).first()
        status = ""
        if commenter and commenter.is_banned:
            status = format_html("<p><strong>{}</strong></p>", _("This reader is banned."))
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> · {} · {}</li>',
            (
                (
                    reverse("admin:comments_comment_change", args=[c.pk]),
                    Truncator(c.body or _("(deleted)")).chars(60),
                    c.get_status_display(),
                    c.post,
                )
                for c in recent
            ),
        )
        all_url = (
            reverse("admin:comments_comment_changelist") + f"?author__id__exact={obj.author_id}"
        )
        return format_html(
            '{}<ul>{}</ul><a href="{}">{}</a>',
            status,
            rows or format_html("<li>{}</li>", _("No other comments.")),
            all_url,
            _("All comments by this reader"),
        )

    def save_model(self, request, obj, form, change):
        # Only ever a change (comments come from readers), and status is the one editable field:
        # it goes through the same service as the bulk actions.
        if "status" in form.changed_data:
            services.set_comments_status(comments=[obj], status=obj.status, moderator=request.user)

    def _moderate(self, request, queryset, status, done):
        changed = services.set_comments_status(
            comments=list(queryset), status=status, moderator=request.user
        )
        self.message_user(request, done % {"count": changed}, messages.SUCCESS)

    @admin.action(description=_("Approve: make visible"), permissions=["change"])
    def approve(self, request, queryset):
        self._moderate(request, queryset, Comment.Status.VISIBLE, _("Approved %(count)d."))

    @admin.action(description=_("Hide from readers"), permissions=["change"])
    def hide(self, request, queryset):
        self._moderate(request, queryset, Comment.Status.HIDDEN, _("Hid %(count)d."))

    @admin.action(description=_("Remove (shown as removed by the editors)"), permissions=["change"])
    def remove(self, request, queryset):
        self._moderate(request, queryset, Comment.Status.REMOVED, _("Removed %(count)d."))

    @admin.action(description=_("Ban the authors from commenting"), permissions=["change"])
    def ban_authors(self, request, queryset):
        users = [c.author for c in queryset.select_related("author") if c.author_id]
        users = list({u.pk: u for u in users if not u.is_staff}.values())
        if not users:
            self.message_user(request, _("No reader to ban among these."), messages.WARNING)
            return None
        return _ban_page(self, request, queryset, users, "ban_authors")


@admin.register(CommentReport)
class CommentReportAdmin(admin.ModelAdmin):
    list_display = ["comment_link", "reason", "details", "reporter", "created_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter), "reason"]
    list_select_related = ["comment", "reporter"]
    readonly_fields = [
        "comment",
        "reporter",
        "reason",
        "details",
        "created_at",
        "resolved_at",
        "resolved_by",
    ]
    actions = ["dismiss"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("comment"))
    def comment_link(self, obj):
        url = reverse("admin:comments_comment_change", args=[obj.comment_id])
        return format_html('<a href="{}">{}</a>', url, obj.comment)

    @admin.action(description=_("Dismiss: keep the comment, close the report"))
    def dismiss(self, request, queryset):
        from django.utils import timezone

        count = queryset.filter(resolved_at=None).update(
            resolved_at=timezone.now(), resolved_by=request.user
        )
        self.message_user(request, _("Dismissed %(count)d.") % {"count": count})


class CommenterForm(forms.ModelForm):
    class Meta:
        model = Commenter
        fields = ["user", "is_banned", "ban_reason", "is_trusted", "notify_replies"]


@admin.register(Commenter)
class CommenterAdmin(admin.ModelAdmin):
    form = CommenterForm
    list_display = [
        "user",
        "is_banned",
        "ban_reason",
        "banned_by",
        "banned_at",
        "is_trusted",
        "comment_count",
    ]
    list_filter = ["is_banned", "is_trusted"]
    search_fields = ["user__email", "user__display_name"]
    list_select_related = ["user", "banned_by"]
    raw_id_fields = ["user"]
    readonly_fields = ["banned_by", "banned_at", "history"]
    actions = ["ban", "unban"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_comments=Count("user__comments"))

    @admin.display(description=_("comments"), ordering="n_comments")
    def comment_count(self, obj):
        url = reverse("admin:comments_comment_changelist") + f"?author__id__exact={obj.user_id}"
        return format_html('<a href="{}">{}</a>', url, obj.n_comments)

    @admin.display(description=_("comment history"))
    def history(self, obj):
        if not obj.pk:
            return "-"
        return self.comment_count(
            Commenter.objects.annotate(n_comments=Count("user__comments")).get(pk=obj.pk)
        )

    def save_model(self, request, obj, form, change):
        was_banned = bool(change and Commenter.objects.filter(pk=obj.pk, is_banned=True).exists())
        super().save_model(request, obj, form, change)
        if obj.is_banned and not was_banned:
            services.ban_reader(user=obj.user, reason=obj.ban_reason, banned_by=request.user)
        elif not obj.is_banned and was_banned:
            services.unban_reader(user=obj.user)

    @admin.action(description=_("Ban from commenting"), permissions=["change"])
    def ban(self, request, queryset):
        users = [c.user for c in queryset.select_related("user") if not c.user.is_staff]
        if not users:
            self.message_user(request, _("No reader to ban among these."), messages.WARNING)
            return None
        return _ban_page(self, request, queryset, users, "ban")

    @admin.action(description=_("Allow to comment again"), permissions=["change"])
    def unban(self, request, queryset):
        count = 0
        for commenter in queryset.select_related("user"):
            services.unban_reader(user=commenter.user)
            count += 1
        self.message_user(request, _("Unbanned %(count)d.") % {"count": count}, messages.SUCCESS)


@admin.register(CommentSettings)
class CommentSettingsAdmin(admin.ModelAdmin):
    """One row of switches: the list goes straight to it."""

    fields = ["hold_first_comments", "max_links", "blocked_words"]

    def has_add_permission(self, request):
        return not CommentSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        obj = CommentSettings.load()
        return HttpResponseRedirect(reverse("admin:comments_commentsettings_change", args=[obj.pk]))
