from django.urls import path  # noqa: F401 - pages are added by the modules of this app

from . import forecast_views, lead_views, promo_views

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
    # promos (promo_views.py): promotions' analysis and customer segment, segments
    path("promotions/", promo_views.promotion_list, name="promotions"),
    path("promotions/<int:pk>/", promo_views.promotion_detail, name="promotion_detail"),
    path("promotions/<int:pk>/segment/", promo_views.promotion_target,
         name="promotion_target"),
    path("segments/", promo_views.segment_list, name="segments"),
    path("segments/new/", promo_views.segment_new, name="segment_new"),
    path("segments/preview/", promo_views.segment_preview, name="segment_preview"),
    path("segments/<int:pk>/", promo_views.segment_detail, name="segment_detail"),
    path("segments/<int:pk>/edit/", promo_views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/export.csv", promo_views.segment_export, name="segment_export"),
    path("segments/<int:pk>/refresh/", promo_views.segment_refresh, name="segment_refresh"),
    path("segments/<int:pk>/delete/", promo_views.segment_delete, name="segment_delete"),
    path("segments/<int:pk>/members/", promo_views.segment_members, name="segment_members"),
]
