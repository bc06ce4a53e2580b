from django.urls import path

from publication import views

app_name = "publication"

urlpatterns = [
    path("theme.css", views.theme_css, name="theme"),
    path("site.webmanifest", views.web_manifest, name="manifest"),
]
