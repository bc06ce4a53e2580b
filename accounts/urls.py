from django.conf import settings
from django.urls import include, path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("account/", views.account, name="account"),
    path("account/data/", views.data_export, name="data-export"),
    path("account/delete/", views.delete, name="delete"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("unsubscribe/<str:token>/resubscribe/", views.resubscribe, name="resubscribe"),
]

# Bounce and complaint webhooks of a mail provider, when one is configured through anymail.
if getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET"):
    urlpatterns.append(path("anymail/", include("anymail.urls")))

# allauth's login views answering 429 on their rate limits, mounted before allauth's own URLs
# (futureforward/urls.py) under allauth's names, so every link and redirect reaches them.
allauth_overrides = [
    path("login/", views.login, name="account_login"),
    path("login/code/", views.request_login_code, name="account_request_login_code"),
]
