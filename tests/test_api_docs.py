"""OpenAPI document, the offline docs page under the CSP, and the API over a real socket."""

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from jalin.accounts.models import ApiToken

from .conftest import PASSWORD
from .walks import merged

ROUTES = {
    "/api/v1/auth/token": {"post"},
    "/api/v1/auth/tokens": {"get"},
    "/api/v1/auth/tokens/{token_id}": {"delete"},
    "/api/v1/me": {"get"},
    "/api/v1/organizations": {"get"},
    "/api/v1/organization": {"get", "patch"},
    "/api/v1/members": {"get"},
    "/api/v1/members/{membership_id}": {"get", "patch", "delete"},
    "/api/v1/invitations": {"get", "post"},
    "/api/v1/invitations/{invitation_id}": {"get", "delete"},
    "/api/v1/audit-log": {"get"},
    "/api/v1/audit-log/{entry_id}": {"get"},
    "/api/v1/events": {"get"},
    "/api/v1/hub/categories": {"get", "post"},
    "/api/v1/hub/categories/{category_id}": {"get", "patch"},
    "/api/v1/hub/products": {"get", "post"},
    "/api/v1/hub/products/{product_id}": {"get", "patch", "delete"},
    "/api/v1/hub/price-lists": {"get", "post"},
    "/api/v1/hub/price-lists/{price_list_id}": {"get", "patch"},
    "/api/v1/hub/price-lists/{price_list_id}/items": {"get", "post"},
    "/api/v1/hub/price-lists/{price_list_id}/items/{item_id}": {"delete"},
    "/api/v1/hub/relationships": {"get", "post"},
    "/api/v1/hub/relationships/{relationship_id}": {"get", "patch"},
    "/api/v1/hub/suppliers": {"get"},
    "/api/v1/hub/suppliers/{supplier_id}/catalog": {"get"},
    "/api/v1/crm/accounts": {"get", "post"},
    "/api/v1/crm/accounts/{account_id}": {"get", "patch", "delete"},
    "/api/v1/crm/contacts": {"get", "post"},
    "/api/v1/crm/contacts/{contact_id}": {"get", "patch", "delete"},
    "/api/v1/crm/custom-fields": {"get", "post"},
    "/api/v1/crm/custom-fields/{field_id}": {"get", "patch", "delete"},
}
ROUTES.update(merged("API_ROUTES"))


def test_openapi_document_lists_every_route(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Jalin API"
    paths = {path: set(methods) for path, methods in schema["paths"].items()}
    assert paths == ROUTES
    schemes = schema["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    assert "security" not in schema["paths"]["/api/v1/auth/token"]["post"]


def test_docs_page_uses_only_local_assets_with_nonces(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"missing static file {asset}"
    scripts = re.findall(r"<script([^>]*)>", html)
    executable = [s for s in scripts if 'type="application/json"' not in s]
    assert executable and all(f'nonce="{nonce}"' in s for s in executable)
    assert "http://" not in html and "https://" not in html
    config = json.loads(re.search(r'id="swagger-settings"[^>]*>(.*?)</script>', html, re.S)
                        .group(1))
    assert config["url"] == "/api/v1/openapi.json"


def test_vendored_swagger_ui_has_its_license():
    vendor = Path(finders.find("vendor/swagger-ui/swagger-ui-bundle.js")).parent
    assert "Apache License" in (vendor / "LICENSE").read_text()
    assert "sourceMappingURL" not in (vendor / "swagger-ui.css").read_text()


def _call(url, *, method="GET", body=None, token=None, headers=None):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    assert url.startswith("http://")
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.django_db(transaction=True)
def test_token_flow_over_real_http(live_server, owner, org):
    base = live_server.url + "/api/v1"
    status, headers, body = _call(base + "/auth/token", method="POST",
                                  body={"username": "owner", "password": PASSWORD})
    assert status == 201, body
    token = json.loads(body)["token"]

    status, headers, body = _call(base + "/me", token=token)
    assert status == 200
    assert json.loads(body)["active_membership"]["organization"]["slug"] == org.slug
    assert headers["Content-Type"].startswith("application/json")

    invite = {"email": "live@example.test", "role": "sales"}
    key = {"Idempotency-Key": "live-1"}
    first = _call(base + "/invitations", method="POST", body=invite, token=token, headers=key)
    again = _call(base + "/invitations", method="POST", body=invite, token=token, headers=key)
    assert first[0] == again[0] == 201
    assert again[1]["Idempotent-Replayed"] == "true" and first[2] == again[2]

    # Anonymous writes: a 401 problem, not a CSRF page.
    status, headers, body = _call(base + "/invitations", method="POST", body=invite)
    assert status == 401 and headers["Content-Type"] == "application/problem+json"
    assert headers["WWW-Authenticate"].startswith("Bearer")

    status, headers, body = _call(base + "/invitations", method="POST", body=b"{bad",
                                  token=token)
    assert status == 400 and json.loads(body)["code"] == "malformed_json"

    huge = json.dumps({**invite, "pad": "x" * (3 * 1024 * 1024)}).encode()
    status, headers, body = _call(base + "/invitations", method="POST", body=huge, token=token)
    assert status == 413 and json.loads(body)["code"] == "payload_too_large"

    token_id = ApiToken.objects.get().pk
    assert _call(base + f"/auth/tokens/{token_id}", method="DELETE", token=token)[0] == 204
    assert _call(base + "/me", token=token)[0] == 401
