"""The outsider walk: every URL pattern and API route, requested by a signed-in admin of
another company, must refuse (404/403) anything that names the victim's records, show none of
the victim's data on pages that are legitimately open to the outsider, and change nothing.

Routes are listed in ROUTES by their full pattern. A route that is added to the project but
not described here makes `test_every_route_is_described` fail: decide how an outsider must be
treated there, then add it.
"""

import hashlib
import json

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.http import urlsafe_base64_encode

from jalin.accounts.services import api_token_create
from jalin.core.audit import audit_record
from jalin.core.events import emit_event, events_sequence
from jalin.hub.testing import victim_hub_records
from jalin.tenancy import services as tenancy_services
from jalin.tenancy.access import for_org
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role

from .walks import (
    API_METHODS,
    OWN,
    PUBLIC,
    REFUSE,
    Route,
    merged,
    victim_builders,
)

ROUTES = {
    "": Route(OWN),
    "health": Route(PUBLIC, methods=("GET",)),
    # accounts
    "accounts/login/": Route(PUBLIC, methods=("GET",)),
    "accounts/logout/": Route(OWN, methods=("GET",)),  # POST would end the walker's session
    "accounts/profile/": Route(OWN),
    "accounts/password/change/": Route(OWN),
    "accounts/password/change/done/": Route(OWN, methods=("GET",)),
    "accounts/password/reset/": Route(PUBLIC),
    "accounts/password/reset/sent/": Route(PUBLIC, methods=("GET",)),
    "accounts/password/reset/<uidb64>/<token>/": Route(
        PUBLIC, kwargs={"uidb64": "victim_uidb64", "token": "bogus"}
    ),
    "accounts/password/reset/complete/": Route(PUBLIC, methods=("GET",)),
    "accounts/tokens/": Route(OWN, methods=("GET",)),
    "accounts/tokens/create/": Route(OWN),
    "accounts/tokens/<int:token_id>/revoke/": Route(REFUSE, kwargs={"token_id": "token"}),
    # tenancy
    "org/none/": Route(OWN, methods=("GET",)),
    "org/switch/": Route(REFUSE, kwargs={}, methods=("POST",)),  # posts the victim membership
    "org/members/": Route(OWN, methods=("GET",)),
    "org/members/<int:pk>/role/": Route(REFUSE, kwargs={"pk": "membership"}),
    "org/members/<int:pk>/remove/": Route(REFUSE, kwargs={"pk": "membership"}),
    "org/members/invite/": Route(OWN, methods=("GET",)),
    "org/invitations/<int:pk>/revoke/": Route(REFUSE, kwargs={"pk": "invitation"}),
    "org/invitations/<str:token>/": Route(REFUSE, kwargs={"token": "bogus"}),
    "org/settings/": Route(OWN, methods=("GET",)),
    "org/audit/": Route(OWN, methods=("GET",)),
    "i18n/setlang/": Route(PUBLIC, methods=("POST",)),
    "jsi18n/": Route(PUBLIC, methods=("GET",)),
    # CRM
    "crm/": Route(OWN, methods=("GET",)),
    "crm/accounts/": Route(OWN, methods=("GET",)),
    "crm/accounts/export.csv": Route(OWN, methods=("GET",)),
    "crm/accounts/new/": Route(OWN, methods=("GET",)),
    "crm/accounts/<int:pk>/": Route(REFUSE, kwargs={"pk": "crm_account"}),
    "crm/accounts/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "crm_account"}),
    "crm/accounts/<int:pk>/archive/": Route(REFUSE, kwargs={"pk": "crm_account"}),
    "crm/contacts/": Route(OWN, methods=("GET",)),
    "crm/contacts/export.csv": Route(OWN, methods=("GET",)),
    "crm/contacts/new/": Route(OWN, methods=("GET",)),
    "crm/contacts/<int:pk>/": Route(REFUSE, kwargs={"pk": "crm_contact"}),
    "crm/contacts/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "crm_contact"}),
    "crm/contacts/<int:pk>/delete/": Route(REFUSE, kwargs={"pk": "crm_contact"}),
    "crm/fields/": Route(OWN, methods=("GET",)),
    "crm/fields/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "crm_field"}),
    # JSON API
    "api/v1/openapi.json": Route(PUBLIC, methods=("GET",)),
    "api/v1/docs": Route(PUBLIC, methods=("GET",)),
    "api/v1/": Route(PUBLIC, methods=("GET",)),
    "api/v1/^.*$": Route(PUBLIC, methods=("GET",)),
    "api/v1/auth/token": Route(PUBLIC, methods=("POST",), body={
        "username": "victim-owner", "password": "wrong-password",
    }),
    "api/v1/auth/tokens": Route(OWN, methods=("GET",)),
    "api/v1/auth/tokens/<token_id>": Route(
        REFUSE, kwargs={"token_id": "token"}, methods=API_METHODS
    ),
    "api/v1/me": Route(OWN, methods=("GET",)),
    "api/v1/organizations": Route(OWN, methods=("GET",)),
    "api/v1/organization": Route(OWN, methods=("GET",)),
    "api/v1/members": Route(OWN, methods=("GET",)),
    "api/v1/members/<membership_id>": Route(
        REFUSE, kwargs={"membership_id": "membership"}, methods=API_METHODS,
        body={"role": "viewer"},
    ),
    "api/v1/invitations": Route(OWN, methods=("GET",)),
    "api/v1/invitations/<invitation_id>": Route(
        REFUSE, kwargs={"invitation_id": "invitation"}, methods=API_METHODS
    ),
    "api/v1/audit-log": Route(OWN, methods=("GET",)),
    "api/v1/audit-log/<entry_id>": Route(
        REFUSE, kwargs={"entry_id": "audit_entry"}, methods=API_METHODS
    ),
    "api/v1/events": Route(OWN, methods=("GET",)),
    "api/v1/crm/accounts": Route(OWN, methods=("GET",)),
    "api/v1/crm/accounts/<account_id>": Route(
        REFUSE, kwargs={"account_id": "crm_account"}, methods=API_METHODS,
        body={"version": 1, "name": "Renamed by outsider"},
    ),
    "api/v1/crm/contacts": Route(OWN, methods=("GET",)),
    "api/v1/crm/contacts/<contact_id>": Route(
        REFUSE, kwargs={"contact_id": "crm_contact"}, methods=API_METHODS,
        body={"version": 1, "last_name": "Renamed by outsider"},
    ),
    "api/v1/crm/custom-fields": Route(OWN, methods=("GET",)),
    "api/v1/crm/custom-fields/<field_id>": Route(
        REFUSE, kwargs={"field_id": "crm_field"}, methods=API_METHODS,
        body={"label": "Renamed by outsider"},
    ),
    # hub (supplier catalog, buyer shop)
    "hub/catalog/": Route(OWN, methods=("GET",)),
    "hub/catalog/products/new/": Route(OWN),
    "hub/catalog/products/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "hub_product"}),
    "hub/catalog/categories/": Route(OWN),
    "hub/catalog/categories/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "hub_category"}),
    "hub/catalog/price-lists/": Route(OWN),
    "hub/catalog/price-lists/<int:pk>/": Route(REFUSE, kwargs={"pk": "hub_price_list"}),
    "hub/catalog/price-lists/<int:pk>/items/": Route(
        REFUSE, kwargs={"pk": "hub_price_list"}
    ),
    "hub/catalog/price-lists/<int:pk>/items/<int:item_pk>/delete/": Route(
        REFUSE, kwargs={"pk": "hub_price_list", "item_pk": "hub_price_item"}
    ),
    "hub/catalog/customers/": Route(OWN, methods=("GET",)),
    "hub/catalog/customers/new/": Route(OWN),
    "hub/catalog/customers/<int:pk>/edit/": Route(REFUSE, kwargs={"pk": "hub_relationship"}),
    "hub/shop/": Route(OWN, methods=("GET",)),
    # A supplier the outsider does not trade with: 404, as if it did not exist.
    "hub/shop/<int:supplier_id>/": Route(REFUSE, kwargs={"supplier_id": "org"},
                                         methods=("GET",)),
    "api/v1/hub/categories": Route(OWN, methods=("GET",)),
    "api/v1/hub/categories/<category_id>": Route(
        REFUSE, kwargs={"category_id": "hub_category"}, methods=API_METHODS,
        body={"version": 1, "name": "Taken over"},
    ),
    "api/v1/hub/products": Route(OWN, methods=("GET",)),
    "api/v1/hub/products/<product_id>": Route(
        REFUSE, kwargs={"product_id": "hub_product"}, methods=API_METHODS,
        body={"version": 1, "name": "Taken over"},
    ),
    "api/v1/hub/price-lists": Route(OWN, methods=("GET",)),
    "api/v1/hub/price-lists/<price_list_id>": Route(
        REFUSE, kwargs={"price_list_id": "hub_price_list"}, methods=API_METHODS,
        body={"version": 1, "name": "Taken over"},
    ),
    "api/v1/hub/price-lists/<price_list_id>/items": Route(
        REFUSE, kwargs={"price_list_id": "hub_price_list"}, methods=API_METHODS,
        body={"product_id": 1, "unit_price": "1"},
    ),
    "api/v1/hub/price-lists/<price_list_id>/items/<item_id>": Route(
        REFUSE, kwargs={"price_list_id": "hub_price_list", "item_id": "hub_price_item"},
        methods=API_METHODS,
    ),
    "api/v1/hub/relationships": Route(OWN, methods=("GET",)),
    "api/v1/hub/relationships/<relationship_id>": Route(
        REFUSE, kwargs={"relationship_id": "hub_relationship"}, methods=API_METHODS,
        body={"version": 1, "status": "suspended"},
    ),
    "api/v1/hub/suppliers": Route(OWN, methods=("GET",)),
    "api/v1/hub/suppliers/<supplier_id>/catalog": Route(
        REFUSE, kwargs={"supplier_id": "org"}, methods=("GET",)
    ),
}

_FEATURE_ROUTES = merged("ROUTES")
assert not set(_FEATURE_ROUTES) & set(ROUTES), set(_FEATURE_ROUTES) & set(ROUTES)
ROUTES.update(_FEATURE_ROUTES)

ADMIN_PREFIX = "admin/"


def flatten(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from flatten(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def all_routes():
    return sorted(set(flatten(get_resolver().url_patterns)))


def test_every_route_is_described():
    undescribed = [
        route for route in all_routes()
        if route not in ROUTES and not route.startswith(ADMIN_PREFIX)
    ]
    assert not undescribed, (
        "Routes the outsider walk does not cover (add them to ROUTES in "
        f"tests/test_outsider_walk.py): {undescribed}"
    )
    stale = sorted(set(ROUTES) - set(all_routes()))
    assert not stale, f"ROUTES names routes that no longer exist: {stale}"


# --- The victim's world ---------------------------------------------------------------------

VICTIM_MARKERS = (
    "Victim Supply Secret",
    "victim-owner",
    "victim-member",
    "victim-invitee@victim.test",
    "31.999.888.7-777.000",
    "victim-secret-audit-action",
)


@pytest.fixture
def victim(db):
    User = get_user_model()
    owner = User.objects.create_user("victim-owner", "victim-owner@victim.test", "x-Pass-12345!")
    member = User.objects.create_user(
        "victim-member", "victim-member@victim.test", "x-Pass-12345!"
    )
    org = tenancy_services.organization_create(
        name="Victim Supply Secret", slug="victim-supply", tax_id="31.999.888.7-777.000",
        is_supplier=True, admin_user=owner,
    )
    membership = tenancy_services.membership_create(
        user=member, organization=org, role=Role.SALES, actor=owner
    )
    invitation, _token = tenancy_services.invitation_create(
        organization=org, email="victim-invitee@victim.test", role=Role.BUYER, actor=owner
    )
    token, _raw = api_token_create(membership=membership, name="victim token", actor=member)
    from jalin.crm import services as crm_services

    crm_field = crm_services.custom_field_define(
        organization=org, actor=owner, target="account", key="secret", label="Victim Supply "
        "Secret field", type="text")
    crm_account = crm_services.account_create(
        organization=org, actor=owner, name="Victim Supply Secret Customer",
        tax_id="31.999.888.7-777.000", custom={"secret": "victim-secret-audit-action"})
    crm_contact = crm_services.contact_create(
        organization=org, actor=owner, last_name="Victim Supply Secret Person",
        email="victim-invitee@victim.test", account=crm_account)
    from django.db import transaction

    with transaction.atomic():
        entry = audit_record(actor=owner, organization=org, action="victim-secret-audit-action")
        emit_event(type="victim.secret", organization=org, payload={"marker": VICTIM_MARKERS[0]})
    hub = victim_hub_records(org, owner)
    records = {
        **hub,
        "org": org,
        "owner": owner,
        "membership": membership,
        "owner_membership": Membership.objects.get(user=owner, organization=org),
        "invitation": invitation,
        "token": token,
        "audit_entry": entry,
        "victim_uidb64": urlsafe_base64_encode(str(owner.pk).encode()),
        "bogus": "not-a-real-token",
        "crm_account": crm_account,
        "crm_contact": crm_contact,
        "crm_field": crm_field,
    }
    for build in victim_builders():
        records.update(build(org=org, owner=owner, records=records))
    events_sequence()
    return records


def fingerprint(org):
    """A digest of every row the victim organization owns, plus its people's user rows."""
    rows = []
    for model in apps.get_models():
        if not model.__module__.startswith("jalin."):
            continue
        if not (getattr(model, "tenant_owner", None) or getattr(model, "tenant_parties", None)):
            continue
        for row in for_org(model, org).order_by("pk").values():
            rows.append((model._meta.label, sorted((k, str(v)) for k, v in row.items())))
    rows.append(("org", sorted((k, str(v)) for k, v in type(org).objects.filter(
        pk=org.pk).values()[0].items())))
    for user in get_user_model().objects.filter(memberships__organization=org).order_by("pk"):
        rows.append(("user", user.pk, user.password, user.is_active, user.email))
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()


def build_path(route, spec, victim):
    path = "/" + route
    for name, source in spec.kwargs.items():
        value = victim.get(source, source)
        value = getattr(value, "pk", value)
        for converter in ("", "int:", "str:", "path:"):
            path = path.replace(f"<{converter}{name}>", str(value))
    assert "<" not in path, f"{route}: no value for a converter in {path}"
    return path


def send(client, method, path, spec, headers=None):
    if method == "GET":
        return client.get(path, headers=headers)
    if path.startswith("/api/"):
        return client.generic(
            method, path, json.dumps(spec.body or {}), content_type="application/json",
            headers=headers,
        )
    return getattr(client, method.lower())(path, data={}, headers=headers)


def assert_no_victim_data(response, label):
    if getattr(response, "streaming", False):  # CSV exports stream
        raw = b"".join(part if isinstance(part, bytes) else part.encode()
                       for part in response.streaming_content)
    else:
        raw = response.content
    body = raw.decode(errors="replace")
    for marker in VICTIM_MARKERS:
        assert marker not in body, f"{label} shows the victim's data: {marker!r}"


@pytest.fixture
def outsider_token(outsider):
    membership = Membership.objects.get(user=outsider)
    _token, raw = api_token_create(membership=membership, name="walker", actor=outsider)
    return raw


@pytest.mark.parametrize("auth", ["session", "bearer"])
def test_outsider_walk(auth, victim, outsider, outsider_token, settings):
    settings.JALIN_LOCKOUT_FAILURES = 10_000  # the walk's wrong passwords must not lock anyone
    before = fingerprint(victim["org"])
    client = Client()
    client.force_login(outsider)
    headers = {"Authorization": f"Bearer {outsider_token}"} if auth == "bearer" else None
    walked = 0
    for route in all_routes():
        if route.startswith(ADMIN_PREFIX):
            continue
        if auth == "bearer" and not route.startswith("api/"):
            continue
        spec = ROUTES[route]
        path = build_path(route.replace("^.*$", "no-such-endpoint"), spec, victim)
        refused = False
        for method in spec.methods:
            if route == "org/switch/":
                response = client.post(path, {"membership": victim["membership"].pk})
            else:
                response = send(client, method, path, spec, headers)
            label = f"{auth} {method} {path} -> {response.status_code}"
            assert response.status_code < 500, label
            assert_no_victim_data(response, label)
            if spec.kind == REFUSE:
                assert response.status_code in (403, 404, 405), label
                refused = refused or response.status_code in (403, 404)
            walked += 1
        if spec.kind == REFUSE:
            assert refused, f"{route}: no method was refused with 403/404"
    # Guard against a walk that silently skipped everything.
    assert walked >= (25 if auth == "bearer" else 60), walked
    assert fingerprint(victim["org"]) == before, "the outsider's walk changed the victim's data"


def test_admin_routes_send_outsider_to_admin_login(victim, outsider_client):
    admin_routes = [r for r in all_routes() if r.startswith(ADMIN_PREFIX)]
    assert admin_routes
    before = fingerprint(victim["org"])
    for route in admin_routes:
        path = "/" + route
        for name in ("object_id", "id", "content_type_id", "app_label", "url"):
            path = path.replace(f"<path:{name}>", str(victim["owner"].pk))
            path = path.replace(f"<{name}>", str(victim["owner"].pk))
        path = path.replace("^(?P<app_label>auth|accounts|django_tasks_database)/$", "accounts/")
        path = path.replace("(?P<url>.*)$", "anything/")
        response = outsider_client.get(path)
        assert_no_victim_data(response, path)
        if route in ("admin/login/", "admin/logout/"):
            # The sign-in page is public; logout takes POST only (405 to a GET).
            assert response.status_code in (200, 302, 405), f"GET {path}"
            continue
        assert response.status_code in (302, 404), f"GET {path} -> {response.status_code}"
        if response.status_code == 302:
            assert response["Location"].startswith("/admin/login/"), path
    assert fingerprint(victim["org"]) == before


def test_walk_detects_a_leak(victim, outsider_client):
    """The walk's own instruments work: a fingerprint changes when victim data changes, and
    the marker check catches a page that shows the victim's name."""
    before = fingerprint(victim["org"])
    tenancy_services.membership_change_role(
        membership=victim["membership"], role=Role.VIEWER, actor=victim["owner"]
    )
    assert fingerprint(victim["org"]) != before

    class Leaky:
        content = b"<h1>Victim Supply Secret</h1>"

    with pytest.raises(AssertionError):
        assert_no_victim_data(Leaky, "leaky page")
