from django.urls import path

from . import case_views, desk_views, portal_views

app_name = "service"
urlpatterns = [
    # Home: the customer portal (buyers) or the desk dashboard (suppliers).
    path("", portal_views.home, name="home"),
    # Desk (the supplier's staff)
    path("cases/", case_views.case_list, name="cases"),
    path("cases/export.csv", case_views.case_export, name="case_export"),
    path("cases/new/", case_views.case_new, name="case_new"),
    path("cases/new/contacts/", case_views.contact_options, name="case_contact_options"),
    path("cases/<int:pk>/", case_views.case_detail, name="case_detail"),
    path("cases/<int:pk>/reply/", case_views.case_reply, name="case_reply"),
    path("cases/<int:pk>/canned/", case_views.case_canned, name="case_canned"),
    path("cases/<int:pk>/status/", case_views.case_status, name="case_status"),
    path("cases/<int:pk>/edit/", case_views.case_edit, name="case_edit"),
    path("cases/<int:pk>/merge/", case_views.case_merge, name="case_merge"),
    path("canned-replies/", desk_views.canned_list, name="canned_replies"),
    path("canned-replies/new/", desk_views.canned_form, name="canned_reply_new"),
    path("canned-replies/<int:pk>/", desk_views.canned_form, name="canned_reply_edit"),
    path("canned-replies/<int:pk>/delete/", desk_views.canned_delete,
         name="canned_reply_delete"),
    path("teams/", desk_views.team_list, name="teams"),
    path("teams/new/", desk_views.team_form, name="team_new"),
    path("teams/<int:pk>/", desk_views.team_form, name="team_edit"),
    # Customer portal
    path("my/cases/", portal_views.portal_cases, name="portal_cases"),
    path("my/cases/new/", portal_views.portal_case_new, name="portal_case_new"),
    path("my/cases/<int:pk>/", portal_views.portal_case_detail, name="portal_case_detail"),
    path("my/cases/<int:pk>/reply/", portal_views.portal_case_reply,
         name="portal_case_reply"),
]
