from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path(
        "subscribe/confirm/<str:token>/",
        views.confirm_subscription,
        name="confirm-subscription",
    ),
]
