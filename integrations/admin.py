"""Editors create and revoke API keys and register webhook endpoints here. A new key or
signing secret is shown once, on the page right after it was made, and never stored in a form
anyone can read again (the key is kept hashed; the secret signs, so it is kept, but not shown)."""

from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integrations import services, webhooks
from integrations.models import (
    ApiKey,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
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


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("An http or https address on the public internet."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What this URL is told about."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "is_enabled"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            webhooks.check_scheme(url)
            webhooks.resolve(url)
        except webhooks.TargetRefused as exc:
            # An unknown host may appear later (DNS not set up yet); every delivery checks
            # again. A scheme or an address we never send to is refused now.
            if "could not be found" not in str(exc):
                raise forms.ValidationError(str(exc)) from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "event_list", "is_enabled", "consecutive_failures", "created_at"]
    list_filter = ["is_enabled"]
    search_fields = ["url", "description"]
    readonly_fields = ["consecutive_failures", "disabled_reason", "created_at"]

    @admin.display(description=_("events"))
    def event_list(self, obj):
        return ", ".join(obj.events)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["url", "description", "events"]
        return [
            "url",
            "description",
            "events",
            "is_enabled",
            "consecutive_failures",
            "disabled_reason",
            "created_at",
        ]

    def save_model(self, request, obj, form, change):
        if change:
            if "is_enabled" in form.changed_data and obj.is_enabled:
                obj.consecutive_failures = 0
                obj.disabled_reason = ""
                transaction.on_commit(services.ensure_sweeping)
            super().save_model(request, obj, form, change)
        else:
            request._ff_new_secret = services.create_endpoint(endpoint=obj)

    def response_add(self, request, obj, post_url_continue=None):
        return TemplateResponse(
            request,
            "integrations/admin/secret_once.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Webhook endpoint created"),
                "object": obj,
                "secret": request._ff_new_secret,
                "what": _("signing secret"),
                "usage": _(
                    "Receivers check each request's webhook-signature header with it "
                    "(Standard Webhooks)."
                ),
                "list_url": "admin:integrations_webhookendpoint_changelist",
            },
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["attempted_at", "status_code", "error", "response_snippet", "duration_ms"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "receiver", "outcome", "attempts"]
    list_display_links = ["created_at", "event"]
    list_filter = ["status", "event", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["message_id", "endpoint__url"]
    date_hierarchy = "created_at"
    actions = ["redeliver"]
    inlines = [WebhookAttemptInline]
    fields = [
        "endpoint",
        "event",
        "message_id",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "payload",
    ]
    readonly_fields = fields

    @admin.display(description=_("outcome"), ordering="status")
    def outcome(self, obj):
        code = f" ({obj.last_status_code})" if obj.last_status_code else ""
        return f"{obj.get_status_display()}{code}"

    @admin.display(description=_("sent to"), ordering="endpoint__url")
    def receiver(self, obj):
        # The host is enough in a list; the whole URL is on the delivery's page.
        return obj.endpoint.description or urlsplit(obj.endpoint.url).netloc

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Redeliver selected deliveries"), permissions=["view"])
    def redeliver(self, request, queryset):
        count = services.redeliver(deliveries=queryset)
        skipped = queryset.count() - count
        self.message_user(
            request,
            ngettext("%d delivery queued again.", "%d deliveries queued again.", count) % count,
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                _("%d left alone: their endpoint is turned off. Turn it on first.") % skipped,
                messages.WARNING,
            )
