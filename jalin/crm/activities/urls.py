"""Pages of the CRM's activities; merged into the `crm` URL namespace by jalin/crm/urls.py."""

urlpatterns = []
