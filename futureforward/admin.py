"""The post admin, assembled: posts' own PostAdmin plus the parts other apps add to the post
page (the newsletter's send buttons, the poll inline). Composed here, in the project package,
because posts must not import the apps built on it. Imported by futureforward/urls.py, before
admin.site.urls is read."""

from django.contrib import admin

from newsletter.admin import NewsletterPostAdminMixin
from polls.admin import PollInline
from posts.admin import PostAdmin
from posts.models import Post


class AssembledPostAdmin(NewsletterPostAdminMixin, PostAdmin):
    inlines = [*PostAdmin.inlines, PollInline]


admin.site.unregister(Post)
admin.site.register(Post, AssembledPostAdmin)
