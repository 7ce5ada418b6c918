from django.urls import path  # noqa: F401 - pages are added by the modules of this app

from . import lead_views

app_name = "sales"
urlpatterns = [
    # Leads (lead_views.py)
    path("", lead_views.home, name="home"),
    path("leads/", lead_views.lead_list, name="leads"),
    path("leads/export.csv", lead_views.lead_export, name="lead_export"),
    path("leads/new/", lead_views.lead_new, name="lead_new"),
    path("leads/import/", lead_views.lead_import, name="lead_import"),
    path("leads/rules/", lead_views.lead_rules, name="lead_rules"),
    path("leads/<int:pk>/", lead_views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/convert/", lead_views.lead_convert, name="lead_convert"),
    path("leads/<int:pk>/disqualify/", lead_views.lead_disqualify, name="lead_disqualify"),
    path("leads/<int:pk>/assign/", lead_views.lead_assign, name="lead_assign"),
    path("web-forms/", lead_views.web_forms, name="web_forms"),
    path("web-forms/new/", lead_views.web_form_edit, name="web_form_new"),
    path("web-forms/<int:pk>/", lead_views.web_form_edit, name="web_form_edit"),
    path("f/<str:key>/", lead_views.web_form_public, name="web_form_public"),
]
