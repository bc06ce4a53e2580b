from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Exists, Max, OuterRef
from django.urls import reverse

from accounts.models import User
from posts.models import Post, Tag


class _SiteUrlSitemap(Sitemap):
    """Locations on SITE_URL, the canonical address, whatever host the request came to."""

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme or "https"

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc


class PostSitemap(_SiteUrlSitemap):
    changefreq = "weekly"

    def items(self):
        return Post.objects.published().only("slug", "updated_at", "published_at").order_by("-id")

    def lastmod(self, post):
        # A scheduled post goes live later than its last edit.
        return max(post.updated_at, post.published_at)


class TagSitemap(_SiteUrlSitemap):
    changefreq = "weekly"

    def items(self):
        live = Post.objects.published().filter(tags=OuterRef("pk"))
        return Tag.objects.filter(Exists(live)).order_by("slug")


class AuthorSitemap(_SiteUrlSitemap):
    changefreq = "monthly"

    def items(self):
        live = Post.objects.published().filter(authors=OuterRef("pk"))
        return User.objects.filter(Exists(live)).only("pk").order_by("pk")

    def location(self, user):
        return reverse("posts:author", kwargs={"pk": user.pk})


class PagesSitemap(_SiteUrlSitemap):
    changefreq = "daily"

    def items(self):
        return ["posts:home", "posts:archive"]

    def location(self, name):
        return reverse(name)

    def lastmod(self, name):
        return Post.objects.published().aggregate(latest=Max("published_at"))["latest"]


SITEMAPS = {
    "pages": PagesSitemap,
    "posts": PostSitemap,
    "tags": TagSitemap,
    "authors": AuthorSitemap,
}
