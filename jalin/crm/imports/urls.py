"""Pages of the CRM's imports; merged into the `crm` URL namespace by jalin/crm/urls.py."""

urlpatterns = []
