"""Pages of the CRM's documents; merged into the `crm` URL namespace by jalin/crm/urls.py."""

urlpatterns = []
