from django.urls import path, re_path

from polls import views

app_name = "polls"

urlpatterns = [
    # At most 18 digits: anything longer cannot be a PostgreSQL bigint, so it is a plain 404
    # instead of a database error.
    re_path(r"^(?P<poll_id>[0-9]{1,18})/vote/$", views.vote, name="vote"),
    path("email/<str:token>/", views.email_vote, name="email-vote"),
]
