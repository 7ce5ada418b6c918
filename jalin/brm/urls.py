from django.urls import path

from . import metrics_views, review_views

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
]
