from django.contrib.sitemaps.views import sitemap
from django.urls import path
from django.views.decorators.http import require_safe

from posts import views
from posts.feeds import AtomPostsFeed, LatestPostsFeed
from posts.sitemaps import SITEMAPS

app_name = "posts"

urlpatterns = [
    path("", views.home, name="home"),
    path("archive/", views.archive, name="archive"),
    path("tag/<slug:slug>/", views.tag, name="tag"),
    path("author/<int:pk>/", views.author, name="author"),
    path("search/", views.search, name="search"),
    path("about/", views.page, {"slug": "about"}, name="about"),
    path("pages/<slug:slug>/", views.page, name="page"),
    path("p/<slug:slug>/", views.detail, name="detail"),
    path("p/<slug:slug>/thumbs-up/", views.thumbs_up, name="thumbs-up"),
    path("feed/", views.cacheable_when_anonymous(require_safe(LatestPostsFeed())), name="feed-rss"),
    path(
        "feed/atom/",
        views.cacheable_when_anonymous(require_safe(AtomPostsFeed())),
        name="feed-atom",
    ),
    path(
        "sitemap.xml",
        views.cacheable_when_anonymous(require_safe(sitemap)),
        {"sitemaps": SITEMAPS},
        name="sitemap",
    ),
    path("robots.txt", views.robots_txt, name="robots"),
]
