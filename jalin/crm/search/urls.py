"""Pages of the CRM's search; merged into the `crm` URL namespace by jalin/crm/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("search/", views.search, name="search"),
    path("search/suggest", views.search_suggest, name="search_suggest"),
    path("accounts/lookup/", views.account_lookup, name="account_lookup"),
    path("accounts/bulk/", views.account_bulk, name="account_bulk"),
    path("contacts/bulk/", views.contact_bulk, name="contact_bulk"),
    path("saved-views/new/", views.saved_view_create, name="saved_view_create"),
    path("saved-views/<int:pk>/delete/", views.saved_view_delete, name="saved_view_delete"),
]
