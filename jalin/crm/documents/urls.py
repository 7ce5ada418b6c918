"""Pages of the CRM's documents; merged into the `crm` URL namespace by jalin/crm/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("documents/", views.document_list, name="document_list"),
    path("documents/new/", views.document_upload, name="document_upload"),
    path("documents/<int:pk>/", views.document_detail, name="document_detail"),
    path("documents/<int:pk>/edit/", views.document_edit, name="document_edit"),
    path("documents/<int:pk>/delete/", views.document_delete, name="document_delete"),
    path("documents/<int:pk>/versions/new/", views.document_add_version,
         name="document_add_version"),
    path("documents/<int:pk>/download/", views.document_download, name="document_download"),
    path("documents/<int:pk>/versions/<int:number>/download/",
         views.document_version_download, name="document_version_download"),
]
