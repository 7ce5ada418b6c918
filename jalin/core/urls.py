from django.urls import path

from . import notifications_views, views

app_name = "core"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("health", views.health, name="health"),
    path("notifications/", notifications_views.notification_list, name="notifications"),
    path("notifications/read/", notifications_views.notification_read,
         name="notifications_read"),
]
