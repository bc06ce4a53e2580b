"""The post admin, assembled: posts' own PostAdmin plus the parts other apps add to the post
page (the newsletter's send buttons, the poll inline); and the subscriber admin, with the
newsletter's tags, note and history. Composed here, in the project package,
because posts must not import the apps built on it. Django's admin autodiscovery imports this
module after every app's own admin.py, since futureforward is the last installed app."""

from django.contrib import admin
from django.urls import reverse

from accounts.admin import SubscriptionAdmin
from accounts.models import Subscription
from analytics.admin import AnalyticsPostAdminMixin
from integrations.admin_list_export import PreparedListExportMixin
from newsletter.admin import NewsletterPostAdminMixin
from newsletter.admin_subscribers import SubscriberAdminMixin
from polls.admin import PollInline
from posts.admin import PostAdmin
from posts.models import Post


class AssembledPostAdmin(AnalyticsPostAdminMixin, NewsletterPostAdminMixin, PostAdmin):
    inlines = [*PostAdmin.inlines, PollInline]


admin.site.unregister(Post)
admin.site.register(Post, AssembledPostAdmin)


class AssembledSubscriptionAdmin(PreparedListExportMixin, SubscriberAdminMixin, SubscriptionAdmin):
    """accounts' subscriber list with the newsletter's tags, note and history, and its CSV
    prepared in the background when the filtered list is too long to stream (integrations)."""

    actions = [*SubscriptionAdmin.actions, *SubscriberAdminMixin.AUDIENCE_ACTIONS]

    def changelist_view(self, request, extra_context=None):
        # One import for every source (imports/): a plain list of addresses is one of its kinds.
        import_url = reverse("admin:imports_import_add") + "?kind=csv"
        return super().changelist_view(request, {**(extra_context or {}), "import_url": import_url})


admin.site.unregister(Subscription)
admin.site.register(Subscription, AssembledSubscriptionAdmin)

# The publication's settings (Settings › Publication), composed here for the same reason.
from futureforward import publication_admin  # noqa: E402, F401
