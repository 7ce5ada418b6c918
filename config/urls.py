from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from jalin.api.urls import api

urlpatterns = [
    path("", include("jalin.core.urls")),
    path("accounts/", include("jalin.accounts.urls")),
    path("org/", include("jalin.tenancy.urls")),
    path("crm/", include("jalin.crm.urls")),
    path("hub/", include("jalin.hub.urls")),
    path("sales/", include("jalin.sales.urls")),
    path("service/", include("jalin.service.urls")),
    path("brm/", include("jalin.brm.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
