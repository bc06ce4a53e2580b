from django.conf import settings
from django.urls import include, path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("account/", views.account, name="account"),
    path("account/delete/", views.delete, name="delete"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("unsubscribe/<str:token>/resubscribe/", views.resubscribe, name="resubscribe"),
]

# Bounce and complaint webhooks of a mail provider, when one is configured through anymail.
if getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET"):
    urlpatterns.append(path("anymail/", include("anymail.urls")))
