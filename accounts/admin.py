from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.admin_paging import LargeTablePaginator, WholeAddressSearch, cached_summary
from accounts.csvfiles import streaming_csv
from accounts.forms import AvatarField, use_address_rule
from accounts.models import Referral, Referrer, Subscription, User
from accounts.referrals import approve_referral, revoke_referral
from accounts.services import (
    export_rows,
    unsubscribe_reader,
)


class ReaderCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        use_address_rule(self.fields["email"])


class ReaderChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"avatar": AvatarField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "email" in self.fields:
            use_address_rule(self.fields["email"])


class SubscriptionInline(admin.StackedInline):
    model = Subscription
    can_delete = False
    extra = 0


@admin.register(User)
class UserAdmin(WholeAddressSearch, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "display_name"]
    inlines = [SubscriptionInline]
    form = ReaderChangeForm
    add_form = ReaderCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("display_name", "bio", "avatar")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )

    def _is_own_code_only_account(self, request, obj) -> bool:
        return (
            obj is not None and obj.pk == request.user.pk and not request.user.has_usable_password()
        )

    def get_fieldsets(self, request, obj=None):
        """An editor who signs in by emailed code sees no password field (and so no "Set
        password" button) on their own account; there is no password to act on."""
        fieldsets = super().get_fieldsets(request, obj)
        if not self._is_own_code_only_account(request, obj):
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]

    def user_change_password(self, request, id, form_url=""):
        if str(id) == str(request.user.pk) and not request.user.has_usable_password():
            messages.info(
                request,
                gettext(
                    "You sign in with a code sent by email, so there is no password to change."
                ),
            )
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[id]))
        return super().user_change_password(request, id, form_url)

    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )


EXPORT_PERMISSION = "accounts.export_subscribers"


def may_export_subscribers(user) -> bool:
    """Return True if user may download every subscriber's address (a CSV, or the whole
    publication): superusers, and staff given the permission explicitly. Viewing the list is
    not enough."""
    return user.is_active and user.is_staff and user.has_perm(EXPORT_PERMISSION)


class SourceListFilter(admin.SimpleListFilter):
    """The signup sources, read once a minute on a large list (a DISTINCT reads every row)."""

    title = _("source")
    parameter_name = "source"

    def lookups(self, request, model_admin):
        def sources():
            return list(
                Subscription.objects.order_by("source")
                .values_list("source", flat=True)
                .distinct()[:50]
            )

        found, _recent = cached_summary("subscription-sources", Subscription, sources)
        return [(source, source or _("(none)")) for source in found]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(source=self.value())


@admin.register(Subscription)
class SubscriptionAdmin(WholeAddressSearch, admin.ModelAdmin):
    address_field = "user__email"
    list_display = ["user", "status", "source", "created_at", "confirmed_at", "unsubscribed_at"]
    # Signup dates as a filter rather than a date hierarchy: the hierarchy reads the whole
    # table for its years and months on every page (accounts/admin_paging.py).
    list_filter = ["status", SourceListFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["user__email", "user__display_name"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    paginator = LargeTablePaginator
    show_full_result_count = False
    # "Show counts" would count every filter choice over the whole list; the counts by status
    # stand above the list already.
    show_facets = admin.ShowFacets.NEVER
    readonly_fields = ["status_reason"]
    actions = ["export_selected", "unsubscribe_selected"]
    change_list_template = "accounts/admin/subscription_change_list.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="{}_{}_export".format(*info),
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        counts, recent = cached_summary(
            "subscription-status-counts", Subscription, Subscription.objects.counts_by_status
        )
        extra_context = {
            **(extra_context or {}),
            "counts_are_recent": recent,
            "status_counts": [
                {"value": value, "label": label, "count": counts[value]}
                for value, label in Subscription.Status.choices
            ],
            "total_count": sum(counts.values()),
            "export_query": request.GET.urlencode(),
            "may_export": may_export_subscribers(request.user),
        }
        return super().changelist_view(request, extra_context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not may_export_subscribers(request.user):
            actions.pop("export_selected", None)
        return actions

    def export_columns(self) -> list:
        """Columns the apps above add to the CSV (newsletters, tags); none of accounts' own."""
        return []

    def _export(self, request, queryset):
        if not may_export_subscribers(request.user):
            raise PermissionDenied
        rows = export_rows(
            queryset.select_related(None).prefetch_related(None), columns=self.export_columns()
        )
        return streaming_csv(rows, self._export_filename())

    @admin.action(description=_("Export selected subscribers as CSV"))
    def export_selected(self, request, queryset):
        return self._export(request, queryset)

    @admin.action(description=_("Unsubscribe selected subscribers"))
    def unsubscribe_selected(self, request, queryset):
        count = 0
        for subscription in queryset.select_related("user").iterator(chunk_size=500):
            before = subscription.status
            after = unsubscribe_reader(
                user=subscription.user,
                reason=gettext("Unsubscribed by %(editor)s in the admin.")
                % {"editor": request.user.email},
            )
            count += after is not None and after.status != before
        self.message_user(request, gettext("%(count)d unsubscribed.") % {"count": count})

    def _export_filename(self) -> str:
        return f"subscribers-{timezone.localdate().isoformat()}.csv"

    def export_view(self, request):
        """Every subscriber matching the list's current filters and search, streamed as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return self._export(request, changelist.get_queryset(request))


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    """Every referral, held ones first to look at: editors approve or revoke, nothing else."""

    list_display = ["referrer", "referred", "created_at", "state", "counted_at"]
    list_filter = ["held", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["referrer__email", "referred__email"]
    ordering = ["-held", "-created_at"]
    list_select_related = ["referrer", "referred"]
    readonly_fields = ["referrer", "referred", "created_at", "counted_at", "held", "revoked_at"]
    exclude = ["network"]
    actions = ["approve", "revoke"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("state"))
    def state(self, obj):
        return obj.state

    @admin.action(description=_("Approve the selected held referrals"), permissions=["change"])
    def approve(self, request, queryset):
        approved = sum(1 for referral in queryset if approve_referral(referral=referral))
        self.message_user(request, gettext("%(count)d referrals now count.") % {"count": approved})

    @admin.action(description=_("Revoke the selected referrals"), permissions=["change"])
    def revoke(self, request, queryset):
        revoked = sum(1 for referral in queryset if revoke_referral(referral=referral))
        self.message_user(
            request,
            gettext("%(count)d referrals revoked. Rewards already sent stay sent.")
            % {"count": revoked},
        )


@admin.register(Referrer)
class ReferrerAdmin(admin.ModelAdmin):
    """The leaderboard: readers by counted referrals, with how many are held for review."""

    list_display = ["email", "counted", "held", "revoked"]
    search_fields = ["email"]
    list_display_links = None

    def get_queryset(self, request):
        live = Q(referrals_made__revoked_at__isnull=True)
        return (
            super()
            .get_queryset(request)
            .annotate(
                counted=Count(
                    "referrals_made", filter=live & Q(referrals_made__counted_at__isnull=False)
                ),
                held=Count(
                    "referrals_made",
                    filter=live
                    & Q(referrals_made__held=True, referrals_made__counted_at__isnull=True),
                ),
                revoked=Count("referrals_made", filter=Q(referrals_made__revoked_at__isnull=False)),
                total=Count("referrals_made"),
            )
            .filter(total__gt=0)
            .order_by("-counted", "-held", "email")
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("accounts.view_referral")

    @admin.display(description=_("counted"), ordering="counted")
    def counted(self, obj):
        return obj.counted

    @admin.display(description=_("held"), ordering="held")
    def held(self, obj):
        return obj.held

    @admin.display(description=_("revoked"), ordering="revoked")
    def revoked(self, obj):
        return obj.revoked
