from django.urls import path

from . import views

app_name = "tenancy"
urlpatterns = [
    path("none/", views.no_organization, name="no_organization"),
    path("switch/", views.switch_organization, name="switch"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
