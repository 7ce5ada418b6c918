"""Pages of the CRM's timeline; merged into the `crm` URL namespace by jalin/crm/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("accounts/<int:pk>/timeline/", views.account_timeline, name="timeline_more"),
    path("contacts/<int:pk>/timeline/", views.contact_timeline, name="timeline_more_contact"),
]
