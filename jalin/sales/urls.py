from django.urls import path  # noqa: F401 - pages are added by the modules of this app

from . import forecast_views, lead_views, opportunity_views

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
    # Forecast (forecast_views.py)
    path("forecast/", forecast_views.forecast, name="forecast"),
    path("forecast/export.csv", forecast_views.forecast_export, name="forecast_export"),
    path("forecast/targets/", forecast_views.target_list, name="forecast_targets"),
    path("forecast/revenue/", forecast_views.revenue, name="forecast_revenue"),
    path("forecast/demand/", forecast_views.demand, name="forecast_demand"),
    path("forecast/demand/export.csv", forecast_views.demand_export,
         name="forecast_demand_export"),
    path("forecast/demand/<int:product_id>/", forecast_views.demand_product,
         name="forecast_demand_product"),
    # Pipeline (opportunity_views.py)
    path("pipeline/", opportunity_views.board, name="board"),
    path("pipeline/column/", opportunity_views.board_column, name="board_column"),
    path("pipeline/settings/", opportunity_views.pipeline_settings, name="pipeline_settings"),
    path("opportunities/", opportunity_views.opportunity_list, name="opportunities"),
    path("opportunities/export.csv", opportunity_views.opportunity_export,
         name="opportunity_export"),
    path("opportunities/new/", opportunity_views.opportunity_new, name="opportunity_new"),
    path("opportunities/<int:pk>/", opportunity_views.opportunity_detail,
         name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", opportunity_views.opportunity_edit,
         name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", opportunity_views.opportunity_move,
         name="opportunity_move"),
    path("opportunities/<int:pk>/close/", opportunity_views.opportunity_close,
         name="opportunity_close"),
    path("opportunities/<int:pk>/reopen/", opportunity_views.opportunity_reopen,
         name="opportunity_reopen"),
    path("opportunities/<int:pk>/lines/", opportunity_views.opportunity_line_add,
         name="opportunity_line_add"),
    path("opportunities/<int:pk>/lines/<int:line_pk>/remove/",
         opportunity_views.opportunity_line_remove, name="opportunity_line_remove"),
]
