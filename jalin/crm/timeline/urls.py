"""Pages of the CRM's timeline; merged into the `crm` URL namespace by jalin/crm/urls.py."""

urlpatterns = []
