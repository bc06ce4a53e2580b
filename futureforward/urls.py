from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts.urls import allauth_overrides
from futureforward import bench
from integrations.api import api

admin.site.site_header = "Future Forward editors"
admin.site.site_title = "Future Forward admin"
# Editors sign in through allauth's login (rate limits, MFA), not the bare admin form.
admin.site.login = secure_admin_login(admin.site.login)

# A database outage gets a styled 503 with Retry-After; anything else Django's 500 page.
handler500 = "futureforward.outage.server_error"

urlpatterns = [
    path("", include("analytics.urls")),  # before the admin's catch-all under /admin/
    path("admin/", admin.site.urls),
    path("accounts/", include(allauth_overrides)),
    path("accounts/", include("allauth.urls")),
    path("", include("publication.urls")),
    path("", include("accounts.urls")),
    path("", include("posts.urls")),
    path("polls/", include("polls.urls")),
    path("", include("comments.urls")),
    path("newsletter/", include("newsletter.urls")),
    path("", include("integrations.urls")),
    path("api/v1/", api.urls),
    *bench.ceiling_urls(),  # only when FF_BENCH_CEILING is set
]

if settings.SERVE_MEDIA:
    # Uploads on local disk (no S3 bucket): served here, in development and production alike, so
    # one machine needs nothing else. Django's static() helper does nothing when DEBUG is off.
    from django.urls import re_path

    from futureforward.media import serve_media

    urlpatterns += [
        re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.+)$", serve_media, name="media")
    ]
