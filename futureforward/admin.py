"""The post admin, assembled: posts' own PostAdmin plus the parts other apps add to the post
page (the newsletter's send buttons, the poll inline). Composed here, in the project package,
because posts must not import the apps built on it. Django's admin autodiscovery imports this
module after every app's own admin.py, since futureforward is the last installed app."""

from django.contrib import admin

from analytics.admin import AnalyticsPostAdminMixin
from newsletter.admin import NewsletterPostAdminMixin
from polls.admin import PollInline
from posts.admin import PostAdmin
from posts.models import Post


class AssembledPostAdmin(AnalyticsPostAdminMixin, NewsletterPostAdminMixin, PostAdmin):
    inlines = [*PostAdmin.inlines, PollInline]


admin.site.unregister(Post)
admin.site.register(Post, AssembledPostAdmin)
