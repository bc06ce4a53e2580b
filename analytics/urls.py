from django.contrib import admin
from django.urls import path

from analytics import views

app_name = "analytics"

# The editors' pages sit under /admin/ and go through the admin's own checks (active staff,
# its login, the staff two-factor rule); the open pixel is public.
urlpatterns = [
    path("admin/analytics/", admin.site.admin_view(views.overview), name="overview"),
    path(
        "admin/analytics/post/<int:post_id>/",
        admin.site.admin_view(views.post_detail),
        name="post",
    ),
    path(
        "admin/analytics/send/<int:send_id>/",
        admin.site.admin_view(views.send_detail),
        name="send",
    ),
    path("o/<str:mark>.gif", views.open_pixel, name="open"),
]
