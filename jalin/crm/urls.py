from django.urls import path

from . import views
from .activities import urls as activities_urls
from .documents import urls as documents_urls
from .imports import urls as imports_urls
from .search import urls as search_urls
from .threads import urls as threads_urls
from .timeline import urls as timeline_urls

app_name = "crm"
urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/export.csv", views.account_export, name="account_export"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account_edit"),
    path("accounts/<int:pk>/archive/", views.account_archive, name="account_archive"),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/export.csv", views.contact_export, name="contact_export"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    path("fields/", views.custom_fields, name="custom_fields"),
    path("fields/<int:pk>/edit/", views.custom_field_edit, name="custom_field_edit"),
]
urlpatterns += [
    *activities_urls.urlpatterns,
    *documents_urls.urlpatterns,
    *imports_urls.urlpatterns,
    *search_urls.urlpatterns,
    *threads_urls.urlpatterns,
    *timeline_urls.urlpatterns,
]
