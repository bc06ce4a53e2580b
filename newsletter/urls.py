from django.urls import path

from newsletter import views

app_name = "newsletter"

urlpatterns = [
    path("manage/<str:token>/", views.manage, name="manage"),
    path(
        "manage/<str:token>/everything/",
        views.unsubscribe_everything,
        name="unsubscribe-everything",
    ),
    path("leave/<str:token>/", views.leave, name="leave"),
    path("account/", views.account_lists, name="account-lists"),
]
