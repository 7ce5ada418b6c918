from django.urls import path

from . import customer_views, metrics_views, review_views

app_name = "brm"
urlpatterns = [
    # Service reviews (staff) and their portal view (buyers).
    path("reviews/", review_views.review_list, name="reviews"),
    path("reviews/new/", review_views.review_create, name="review_create"),
    path("reviews/<int:pk>/", review_views.review_detail, name="review_detail"),
    path("reviews/<int:pk>/hold/", review_views.review_hold, name="review_hold"),
    path("reviews/<int:pk>/cancel/", review_views.review_cancel, name="review_cancel"),
    path("reviews/<int:pk>/pdf/", review_views.review_pdf_view, name="review_pdf"),
    path("portal/reviews/", review_views.portal_review_list, name="portal_reviews"),
    path("portal/reviews/<int:pk>/", review_views.portal_review_detail,
         name="portal_review_detail"),
    path("portal/reviews/<int:pk>/pdf/", review_views.portal_review_pdf,
         name="portal_review_pdf"),
    # BRM metrics and referrals.
    path("metrics/", metrics_views.metrics_page, name="metrics"),
    path("metrics/export.csv", metrics_views.metrics_export, name="metrics_export"),
    path("referrals/", metrics_views.referral_list, name="referrals"),
    # Customer portfolio (brmport)
    path("", customer_views.home, name="home"),
    path("customers/export.csv", customer_views.export, name="portfolio_export"),
    path("customers/<int:pk>/", customer_views.customer_detail, name="customer"),
    path("customers/<int:pk>/profile/", customer_views.profile_save, name="profile_save"),
    path("customers/<int:pk>/objectives/", customer_views.objective_add, name="objective_add"),
    path("objectives/<int:pk>/", customer_views.objective_edit, name="objective_edit"),
    path("customers/<int:pk>/stakeholders/", customer_views.stakeholder_add,
         name="stakeholder_add"),
    path("stakeholders/<int:pk>/remove/", customer_views.stakeholder_remove,
         name="stakeholder_remove"),
]
