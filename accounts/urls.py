from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("account/", views.account, name="account"),
    path("account/data/", views.data_export, name="data-export"),
    path("account/delete/", views.delete, name="delete"),
    path("r/<str:code>/", views.referral, name="referral"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("unsubscribe/<str:token>/resubscribe/", views.resubscribe, name="resubscribe"),
]

# Bounce and complaint webhooks of a mail provider, when one is configured through anymail.
if getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET"):
    urlpatterns.append(path("anymail/", include("anymail.urls")))

# Mounted before allauth's own URLs (futureforward/urls.py) under allauth's names, so every link
# and redirect reaches them: the login views answer 429 on their rate limits, the code page finds
# the account a subscribe request left to its task, and allauth's sign-up page leads to our
# subscribe page, the one door through which accounts are made.
allauth_overrides = [
    path("login/", views.login, name="account_login"),
    path("login/code/", views.request_login_code, name="account_request_login_code"),
    path("login/code/confirm/", views.confirm_login_code, name="account_confirm_login_code"),
    path(
        "signup/",
        RedirectView.as_view(pattern_name="accounts:subscribe", query_string=True),
        name="account_signup",
    ),
]
