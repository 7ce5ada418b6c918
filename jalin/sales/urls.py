from django.urls import path  # noqa: F401 - pages are added by the modules of this app

app_name = "sales"
urlpatterns = []
