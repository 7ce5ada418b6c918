"""Pages of the CRM's threads; merged into the `crm` URL namespace by jalin/crm/urls.py."""

urlpatterns = []
