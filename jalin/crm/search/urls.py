"""Pages of the CRM's search; merged into the `crm` URL namespace by jalin/crm/urls.py."""

urlpatterns = []
