"""The editors' admin site: Django's AdminSite, with navigation by an editor's tasks.

Django's stock admin lists apps alphabetically, so an editor meets "Email addresses", "Groups"
and "MFA Authenticators" before Posts. Here every registered model falls into one of four
sections (Write, Audience, Discussion, Settings) by the table below, so a model a new app
registers later lands somewhere sensible with one line here, or none (an unknown app goes to
Settings). The comment moderation queue carries the count of what waits for review on every
admin page, in one query per request.

Installed in place of ``django.contrib.admin`` (settings.INSTALLED_APPS), so ``admin.site`` is
this site everywhere and every app's ``admin.py`` registers with it unchanged.
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Section:
    """One group of the admin's navigation."""

    key: str
    name: str
    # "app_label.ModelName" or a whole "app_label"; a model entry wins over its app's entry.
    # The order here is the order in the navigation; models not named come after, by name.
    members: tuple[str, ...]
    # Filtered lists shown as entries of their own: (name, "app_label.ModelName", query
    # string); shown to those who may view that model.
    extra_links: tuple[tuple[str, str, str], ...] = field(default=())
    # Pages of the admin site that are no model's: (name, URL name, "app_label.codename" of the
    # permission that shows them).
    pages: tuple[tuple[str, str, str], ...] = field(default=())


SECTIONS = (
    Section("write", _("Write"), ("posts.Post", "posts.Tag", "posts.Page", "polls", "posts")),
    Section(
        "audience",
        _("Audience"),
        (
            "accounts.Subscription",
            "accounts.User",
            "newsletter.Newsletter",
            "newsletter.Segment",
            "newsletter.SubscriberTag",
            "imports.Import",
            "newsletter.NewsletterSend",
            "newsletter.Delivery",
            "newsletter",
            "analytics",
        ),
    ),
    Section(
        "discussion",
        _("Discussion"),
        ("comments.Comment", "comments.CommentReport", "comments.Commenter"),
    ),
    Section(
        "settings",
        _("Settings"),
        (
            "publication",
            "comments.CommentSettings",
            "integrations",
            "auth.Group",
            "account.EmailAddress",
            "mfa.Authenticator",
            "django_tasks_database",
        ),
        extra_links=((_("Staff"), "accounts.User", "is_staff__exact=1"),),
        pages=((_("Export"), "admin:export", "accounts.export_subscribers"),),
    ),
)
FALLBACK_SECTION = "settings"
# What the navigation calls a model when its own verbose name reads badly for editors.
NAV_NAMES = {
    "comments.Comment": _("Moderation queue"),
    "accounts.User": _("Readers"),
    "django_tasks_database.DBTaskResult": _("Background tasks"),
    "comments.CommentSettings": _("Comment rules"),
}
# The queue link opens on what waits for review.
NAV_QUERIES = {"comments.Comment": "queue=review"}


def section_for(app_label: str, object_name: str) -> str:
    """Return the key of the section a model belongs to."""
    model_key = f"{app_label}.{object_name}"
    for section in SECTIONS:
        if model_key in section.members:
            return section.key
    for section in SECTIONS:
        if app_label in section.members:
            return section.key
    return FALLBACK_SECTION


def _member_rank(section: Section, app_label: str, object_name: str) -> int:
    model_key = f"{app_label}.{object_name}"
    if model_key in section.members:
        return section.members.index(model_key)
    if app_label in section.members:
        return section.members.index(app_label)
    return len(section.members)


def review_count(request) -> int:
    """Return how many comments wait for review, counted once per request."""
    if not hasattr(request, "_ff_review_count"):
        from comments.models import Comment

        request._ff_review_count = Comment.objects.awaiting_review().count()
    return request._ff_review_count


class EditorsAdminSite(admin.AdminSite):
    site_header = _("Future Forward editors")
    site_title = _("Future Forward admin")
    index_title = _("The editor's desk")

    def get_app_list(self, request, app_label=None):
        """Return the navigation as sections shaped like Django's app list (name, app_label,
        models), so the stock templates and other code that reads app_list keep working. An
        app's own index page (app_label given) keeps Django's list of that app's models."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        grouped: dict[str, list[tuple[tuple[int, str], dict]]] = {s.key: [] for s in SECTIONS}
        for app in self._build_app_dict(request).values():
            for model in app["models"]:
                name = model["object_name"]
                key = f"{app['app_label']}.{name}"
                model = {**model, "key": key}
                model["name"] = NAV_NAMES.get(key, model["name"])
                if key in NAV_QUERIES and model.get("admin_url"):
                    model["admin_url"] += "?" + NAV_QUERIES[key]
                if key == "comments.Comment":
                    model["badge"] = review_count(request)
                    model["badge_label"] = _("waiting for review")
                section_key = section_for(app["app_label"], name)
                section = next(s for s in SECTIONS if s.key == section_key)
                rank = (_member_rank(section, app["app_label"], name), str(model["name"]))
                grouped[section_key].append((rank, model))
        sections = []
        for section in SECTIONS:
            models = [model for _rank, model in sorted(grouped[section.key], key=lambda x: x[0])]
            if not models:
                continue
            models += self._extra_links(request, section)
            sections.append(
                {
                    "name": section.name,
                    "app_label": section.key,
                    "app_url": "",
                    "has_module_perms": True,
                    "is_section": True,
                    "models": models,
                }
            )
        return sections

    def _extra_links(self, request, section: Section) -> list[dict]:
        links = []
        for name, model_label, query in section.extra_links:
            model = apps.get_model(model_label)
            model_admin = self._registry.get(model)
            if model_admin is None or not model_admin.has_view_permission(request):
                continue
            opts = model._meta
            url = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_changelist", current_app=self.name
            )
            links.append(
                {
                    "name": name,
                    "object_name": str(name).replace(" ", ""),
                    "key": f"{section.key}.{name}",
                    "admin_url": f"{url}?{query}",
                    "add_url": None,
                    "view_only": True,
                }
            )
        for name, url_name, permission in section.pages:
            if not request.user.has_perm(permission):
                continue
            links.append(
                {
                    "name": name,
                    "object_name": str(name).replace(" ", ""),
                    "key": f"{section.key}.{name}",
                    "admin_url": reverse(url_name, current_app=self.name),
                    "add_url": None,
                    "view_only": True,
                }
            )
        return links

    def each_context(self, request):
        context = super().each_context(request)
        if context["has_permission"] and request.user.has_perm("comments.view_comment"):
            context["review_count"] = review_count(request)
        return context

    def password_change(self, request, extra_context=None):
        """Editors who sign in by emailed code have no password to change: send them back."""
        if not request.user.has_usable_password():
            messages.info(
                request,
                _("You sign in with a code sent by email: there is no password to change."),
            )
            return redirect("admin:index")
        return super().password_change(request, extra_context)

    def get_urls(self):
        from futureforward.admin_notices import notices_view
        from integrations import admin_export

        view = self.admin_view
        return [
            path("notices/", view(notices_view), name="notices"),
            path("export/", view(admin_export.export_page), name="export"),
            path("export/ghost.json", view(admin_export.ghost_export_view), name="export-ghost"),
            path("export/prepare/", view(admin_export.prepare_view), name="export-prepare"),
            path("export/prepared/", view(admin_export.prepared_list_view), name="export-list"),
            path(
                "export/prepared/<int:pk>/download/",
                view(admin_export.prepared_download_view),
                name="export-download",
            ),
            path(
                "export/prepared/<int:pk>/delete/",
                view(admin_export.prepared_delete_view),
                name="export-delete",
            ),
            *super().get_urls(),
        ]


class EditorsAdminConfig(AdminConfig):
    """django.contrib.admin, with the editors' site as admin.site."""

    default_site = "futureforward.adminsite.EditorsAdminSite"
