"""Pages of the CRM's threads; merged into the `crm` URL namespace by jalin/crm/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("comments/new/", views.comment_post, name="comment_post"),
    path("comments/<int:pk>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/delete/", views.comment_delete, name="comment_delete"),
    path("comments/<int:pk>/history/", views.comment_history, name="comment_history"),
    path("threads/accounts/<int:pk>/", views.thread_account, name="thread_account"),
    path("threads/contacts/<int:pk>/", views.thread_contact, name="thread_contact"),
    path("threads/activities/<int:pk>/", views.thread_activity, name="thread_activity"),
    path("mentions/", views.mention_suggestions, name="mention_suggestions"),
]
