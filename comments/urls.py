from django.urls import path

from comments import views

app_name = "comments"

urlpatterns = [
    path("p/<slug:slug>/comments/", views.discussion, name="list"),
    path("p/<slug:slug>/comments/new/", views.create, name="create"),
    path("p/<slug:slug>/comments/<int:pk>/", views.thread, name="thread"),
    path("comments/<int:pk>/reply/", views.reply, name="reply"),
    path("comments/<int:pk>/edit/", views.edit, name="edit"),
    path("comments/<int:pk>/delete/", views.delete, name="delete"),
    path("comments/<int:pk>/like/", views.like, name="like"),
    path("comments/<int:pk>/report/", views.report, name="report"),
    path("comments/reply-emails/", views.reply_emails, name="reply-emails"),
    path("comments/reply-emails/stop/<str:token>/", views.stop_replies, name="stop-replies"),
]
