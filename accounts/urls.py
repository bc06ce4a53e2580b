from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("account/", views.account, name="account"),
    path("account/delete/", views.delete, name="delete"),
]
