from django.contrib import admin

from accounts.admin import NewsletterPostAdminMixin
from posts.models import Post, Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Post)
class PostAdmin(NewsletterPostAdminMixin, admin.ModelAdmin):
    list_display = ["title", "status", "published_at", "audience", "is_featured"]
    list_filter = ["status", "audience", "tags", "authors"]
    search_fields = ["title", "subtitle"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["authors", "tags"]
