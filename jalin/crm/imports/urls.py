"""Pages of the CRM's imports; merged into the `crm` URL namespace by jalin/crm/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_create, name="import_create"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/run/", views.import_run, name="import_run"),
    path("imports/<int:pk>/errors.csv", views.import_errors, name="import_errors"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("contacts/<int:pk>/vcard.vcf", views.contact_vcard, name="contact_vcard"),
    path("contacts/export.vcf", views.contact_vcards, name="contact_vcards"),
    path("duplicates/", views.duplicate_list, name="duplicates"),
    path("contacts/merge/", views.contact_merge, name="contact_merge"),
    path("accounts/merge/", views.account_merge, name="account_merge"),
]
