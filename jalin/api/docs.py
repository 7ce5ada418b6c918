"""The interactive API docs (Swagger UI) served from our own static files.

ninja's default page loads Swagger UI from a CDN (or needs `ninja` in INSTALLED_APPS) and has
no CSP nonce; ours uses the vendored copy in static/vendor/swagger-ui and nonce'd scripts, so
it works offline and under the strict Content-Security-Policy.
"""

from django.shortcuts import render
from ninja.openapi.docs import DocsBase


class LocalSwagger(DocsBase):
    def render_page(self, request, api, **kwargs):
        settings = {
            "url": self.get_openapi_url(api, kwargs),
            "layout": "BaseLayout",
            "deepLinking": True,
        }
        return render(request, "api/docs.html", {"api": api, "swagger_settings": settings})
