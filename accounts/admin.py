from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from accounts.models import Subscription, User


class ReaderCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class ReaderChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class SubscriptionInline(admin.StackedInline):
    model = Subscription
    can_delete = False
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "status", "source", "created_at", "confirmed_at", "unsubscribed_at"]
    list_filter = ["status", "source"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
    date_hierarchy = "created_at"
