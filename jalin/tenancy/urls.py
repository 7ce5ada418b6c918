from django.urls import path

from . import views

app_name = "tenancy"
urlpatterns = [
    path("none/", views.no_organization, name="no_organization"),
    path("switch/", views.switch_organization, name="switch"),
    path("members/", views.members, name="members"),
    path("members/<int:pk>/role/", views.member_change_role, name="member_role"),
    path("members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("members/invite/", views.invitation_create, name="invitation_create"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("settings/", views.organization_settings, name="settings"),
    path("audit/", views.audit_log, name="audit_log"),
]
