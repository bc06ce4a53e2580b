"""Editors create and revoke API keys and register webhook endpoints here. A new key or
signing secret is shown once, on the page right after it was made, and never stored in a form
anyone can read again (the key is kept hashed; the secret signs, so it is kept, but not shown)."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integrations import services
from integrations.models import (
    ApiKey,
)


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Without a scope a key reads what anyone may read, at the key's own rate."),
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["name", "key_id", "scope_list", "is_active", "created_at", "last_used_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "lookup"]
    actions = ["revoke"]
    readonly_fields = ["key_id", "created_at", "created_by", "last_used_at", "revoked_at"]

    @admin.display(description=_("key starts"))
    def key_id(self, obj):
        return f"ffk_{obj.lookup}_…" if obj.lookup else "—"

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes) or "—"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scopes"]
        return [
            "name",
            "key_id",
            "scopes",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
        ]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            request._ff_new_key = services.create_api_key(key=obj, created_by=request.user)

    def response_add(self, request, obj, post_url_continue=None):
        # The whole key exists only in this response; no message store or form keeps it.
        return TemplateResponse(
            request,
            "integrations/admin/secret_once.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("API key created"),
                "object": obj,
                "secret": request._ff_new_key,
                "what": _("API key"),
                "usage": _("Send it as “Authorization: Bearer <key>”."),
                "list_url": "admin:integrations_apikey_changelist",
            },
        )

    @admin.action(description=_("Revoke selected keys"))
    def revoke(self, request, queryset):
        count = services.revoke_api_keys(keys=queryset)
        self.message_user(
            request,
            ngettext("%d key revoked.", "%d keys revoked.", count) % count,
            messages.SUCCESS,
        )
