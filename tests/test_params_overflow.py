"""Oversized or malformed numbers in request input get a page or a 4xx, never a 500.

SQLite's driver raises OverflowError for a Python int past 64 bits, and a number that does not
parse is not an id; request numbers therefore go through `jalin.core.params.int_param`, which
answers None (or a default) for garbage and clamps a huge number to the 64-bit edge, where it
matches nothing.

Two layers:
- a table of list pages and filter parameters, by URL name, each asked with a huge number and
  with "abc" one parameter at a time (the status it must answer is given);
- a sweep over every route of the outsider walk as the records' own admin (the walk's world of
  records is reused), every numeric-looking query parameter and form field set to a huge
  number or to garbage at once: any status below 500.
"""

import json

import pytest
from django.test import Client
from django.urls import reverse

from jalin.accounts.services import api_token_create
from jalin.core.params import DB_INT_MAX, int_param
from jalin.tenancy.models import Membership

from .test_outsider_walk import ADMIN_PREFIX, ROUTES, all_routes, build_path, victim  # noqa: F401

BIG = "9" * 25
BAD = (BIG, "abc")


# --- the parser -----------------------------------------------------------------------------

@pytest.mark.parametrize("value, kwargs, expected", [
    ("42", {}, 42), (" 7 ", {}, 7), ("-3", {}, -3), ("abc", {}, None), ("", {}, None),
    (None, {}, None), ("1.5", {}, None), ("²", {}, None), (True, {}, None),
    (BIG, {}, DB_INT_MAX), ("-" + BIG, {}, -DB_INT_MAX), ("9" * 5000, {}, None),
    ("abc", {"default": 0}, 0), ("", {"default": 12}, 12), ("5", {"default": 12}, 5),
    ("0", {"positive": True}, None), ("-4", {"positive": True}, None),
    ("4", {"positive": True}, 4), (BIG, {"positive": True}, DB_INT_MAX),
    ("-4", {"positive": True, "default": -1}, -1), (7, {}, 7),
])
def test_int_param(value, kwargs, expected):
    assert int_param(value, **kwargs) == expected


# --- list pages and their filters, one parameter at a time ----------------------------------

# (URL name, query parameters). A bad number gets the page (the filter ignored or matching
# nothing), a 400, or a 404 where the parameter names a record. The supplier's admin asks.
SUPPLIER_PAGES = [
    ("core:notifications", ("cursor", "page", "before", "after")),
    ("tenancy:audit_log", ("cursor", "page", "before", "after")),
    ("crm:account_list", ("owner", "page", "cursor", "after", "before")),
    ("crm:contact_list", ("account", "owner", "page", "cursor")),
    ("crm:activity_list", ("assignee", "account", "contact", "page", "cursor", "after",
                           "before")),
    ("crm:activity_create", ("account", "contact")),
    ("crm:my_day", ("page",)),
    ("crm:calendar", ("owner", "assignee", "month", "start")),
    ("crm:document_list", ("uploader", "account", "contact", "activity", "page", "cursor")),
    ("crm:contact_merge", ("keep", "merge")),
    ("crm:account_merge", ("keep", "merge")),
    ("crm:search", ("page", "owner")),
    ("sales:leads", ("owner", "min_score", "page", "cursor")),
    ("sales:opportunities", ("owner", "team", "pipeline", "stage", "account", "page",
                             "cursor")),
    ("sales:board", ("owner", "team", "pipeline")),
    ("sales:board_column", ("stage", "pipeline", "cursor", "after")),
    ("sales:opportunity_new", ("account", "pipeline")),
    ("sales:quotes", ("account", "owner", "page", "cursor")),
    ("sales:campaigns", ("page", "cursor", "owner")),
    ("sales:forecast", ("owner", "team", "period")),
    ("hub:catalog", ("category", "page", "cursor")),
    ("hub:price_export", ("price_list",)),
    ("hub:customers", ("group", "page", "cursor")),
    ("hub:stock", ("warehouse", "page", "cursor", "product")),
    ("hub:stock_low", ("warehouse",)),
    ("hub:orders", ("page", "cursor", "buyer", "supplier", "customer")),
    ("hub:order_enter", ("buyer", "product")),
    ("hub:returns", ("buyer", "page", "cursor")),
    ("hub:invoices", ("counterparty", "page", "cursor")),
    ("hub:rfqs", ("page", "cursor", "buyer")),
    ("hub:payments", ("customer", "page", "cursor")),
    ("hub:payment_record", ("customer",)),
    ("hub:payment_open_invoices", ("customer",)),
    ("service:cases", ("assignee", "team", "account", "page", "cursor")),
    ("service:case_new", ("account", "contact")),
    ("service:case_contact_options", ("account",)),
    ("service:services", ("owner", "page")),
    ("service:agreements", ("account", "expiring", "page", "cursor")),
    ("service:agreement_create", ("account",)),
    ("service:sla_report", ("sla", "team", "account", "priority", "months")),
    ("service:survey_list", ("page", "cursor")),
    ("service:survey_dashboard", ("months", "account", "survey")),
    ("service:survey_answers", ("survey", "account", "score_min", "score_max", "page",
                                "cursor")),
    ("brm:home", ("manager", "page", "cursor")),
    ("brm:reviews", ("account", "page")),
    ("brm:review_create", ("account",)),
    ("brm:metrics", ("account",)),
    ("brm:referrals", ("referrer",)),
    ("brm:requirements", ("account", "page")),
    ("brm:changes", ("account", "page")),
    ("brm:change_create", ("account",)),
    ("brm:opportunities", ("account", "service", "page")),
    ("brm:opportunity_create", ("account",)),
    ("brm:improvements", ("account", "owner", "page")),
    ("brm:improvement_create", ("account",)),
]

# Pages a buyer's user reads (the buyer organization's admin asks).
BUYER_PAGES = [
    ("hub:shop", ("supplier", "category", "page")),
    ("hub:orders", ("supplier", "page", "cursor")),
    ("hub:invoices", ("counterparty", "page")),
    ("hub:payments", ("supplier", "page")),
    ("hub:returns", ("page", "cursor")),
    ("hub:rfqs", ("page", "supplier", "product")),
    ("hub:saved_lists", ("page",)),
    ("service:portal_cases", ("page", "cursor")),
    ("service:portal_agreements", ("page",)),
    ("service:survey_portal_list", ("page",)),
    ("brm:portal_reviews", ("page",)),
    ("brm:portal_requirements", ("page",)),
]


def _ask(client, pages):
    """Each page with each parameter alone, then with all at once as "-huge", "1.5" and "²"
    (a digit str.isdigit() accepts and int() does not)."""
    failures = []
    for name, params in pages:
        queries = [{param: value} for param in params for value in BAD]
        queries += [dict.fromkeys(params, value) for value in ("-" + BIG, "1.5", "²")]
        for query in queries:
            try:
                status = client.get(reverse(name), query).status_code
            except Exception as exc:  # noqa: BLE001 - the test client re-raises a 500's error
                status = f"500 {exc!r}"
            if status not in (200, 400, 404):
                failures.append(f"{name} {query} -> {status}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("pages", [SUPPLIER_PAGES[i:i + 10]
                                   for i in range(0, len(SUPPLIER_PAGES), 10)],
                         ids=lambda pages: pages[0][0])
def test_supplier_page_filters(owner_client, pages):
    _ask(owner_client, pages)


@pytest.fixture
def buyer_client(other_org, outsider):
    """`other_org` is a buyer; its admin reads the portal pages."""
    client = Client()
    client.force_login(outsider)
    return client


def test_buyer_page_filters(buyer_client):
    _ask(buyer_client, BUYER_PAGES)


# --- every route, with records, as their owner ----------------------------------------------

# Query parameters and form fields that carry a number (an id, a version, a count, a page).
NUMBER_FIELDS = (
    "account", "activity", "after", "assignee", "attribution_days", "before", "buyer",
    "calendar", "campaign", "canned", "category", "competitor", "contact", "count",
    "counterparty", "cursor", "customer", "default_owner", "delta", "expiring", "group", "id",
    "invoice", "keep", "lead_time", "list", "lost_to", "low_stock_threshold", "manager",
    "merge", "min_score", "months", "owner", "page", "pipeline", "portal_user", "price_list",
    "product", "promotion", "quantity", "reason", "record", "referred_account", "referrer",
    "relationship_manager", "return_window_days", "rows", "score", "score_max", "score_min",
    "segment", "service", "services", "ship_to", "sla", "stage", "supplier", "survey", "team",
    "threshold", "uploader", "user", "variant", "version", "version_keep", "version_merge",
    "warehouse", "year",
)
SKIP_ROUTES = {"accounts/logout/", "org/switch/", "i18n/setlang/"}


@pytest.fixture
def world(victim):  # noqa: F811 (the outsider walk's fixture)
    """The outsider walk's records, asked for by their own admin (HTML) and API token."""
    owner = victim["owner"]
    client = Client()
    client.force_login(owner)
    membership = Membership.objects.get(user=owner, organization=victim["org"])
    _token, raw = api_token_create(membership=membership, name="overflow", actor=owner)
    return victim, client, {"Authorization": f"Bearer {raw}"}


def _routes(area):
    others = tuple(prefix for key, prefixes in SWEEPS.items() if key != area
                   for prefix in prefixes)
    return [route for route in all_routes()
            if route.startswith(SWEEPS[area] or ("",)) and not route.startswith(others)
            and not route.startswith(ADMIN_PREFIX) and route not in SKIP_ROUTES]


def _send(client, method, path, spec, numbers, headers):
    if not path.startswith("/api/"):
        if method == "GET":
            return client.get(path, numbers)
        return client.post(path, {**numbers, "name": "Overflow"})
    if method == "GET":
        return client.get(path, numbers, headers=headers)
    body = dict(spec.body or {})
    for key in body.keys() & numbers.keys():  # e.g. the "version" of an API write
        body[key] = int(numbers[key]) if numbers[key].lstrip("-").isdigit() else numbers[key]
    return client.generic(method, path, json.dumps(body), content_type="application/json",
                          headers=headers)


def _sweep(world, area, value):
    records, client, headers = world
    failures, walked = [], 0
    numbers = dict.fromkeys(NUMBER_FIELDS, value)
    for route in _routes(area):
        spec = ROUTES[route]
        path = build_path(route.replace("^.*$", "no-such-endpoint"), spec, records)
        for method in spec.methods:
            walked += 1
            try:
                status = _send(client, method, path, spec, numbers, headers).status_code
            except Exception as exc:  # noqa: BLE001 - the test client re-raises a 500's error
                status = f"500 {exc!r}"
            if not isinstance(status, int) or status >= 500:
                failures.append(f"{method} {path} -> {status}")
    assert walked > 10
    assert not failures, "\n".join(failures)


SWEEPS = {
    "core": (),  # everything the other areas do not cover
    "crm": ("crm/",),
    "sales": ("sales/",),
    "hub": ("hub/",),
    "service": ("service/",),
    "brm": ("brm/",),
    "api": ("api/",),
}


@pytest.mark.parametrize("value", [BIG, "abc"])
def test_every_route_survives_bad_numbers(world, value):
    failures = []
    for area in SWEEPS:  # one world of records (slow to build) for every area
        try:
            _sweep(world, area, value)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


# --- writes and API ids ---------------------------------------------------------------------

def _row(record):
    return type(record).objects.filter(pk=record.pk).values().first()


EDITS = [  # (route, the walk's record) - forms whose hidden "version" guards a stale save
    ("crm/accounts/<int:pk>/edit/", "crm_account"),
    ("crm/contacts/<int:pk>/edit/", "crm_contact"),
    ("sales/opportunities/<int:pk>/edit/", None),
    ("service/agreements/<int:pk>/edit/", "svc_agreement"),
    ("brm/requirements/<int:pk>/edit/", "brm_requirement"),
    ("hub/addresses/<int:pk>/edit/", None),
]


def test_bad_writes_and_api_ids(world):
    """One world of records for the write checks below (it is slow to build)."""
    for value in (BIG, "-" + BIG, "abc", "²"):
        _bad_versions_change_nothing(world, value)
        _bad_ids_in_posts(world, value)
    _huge_version_on_a_valid_form_is_stale(world)
    _api_huge_ids_are_4xx(world)


def _bad_versions_change_nothing(world, value):
    records, client, _headers = world
    for route, key in EDITS:
        spec = ROUTES[route]
        path = build_path(route, spec, records)
        record = records[key or next(iter(spec.kwargs.values()))]
        before = _row(record)
        response = client.post(path, {"version": value, "name": "Overflow"})
        assert response.status_code in (200, 302, 400, 404, 409), (path, response.status_code)
        if response.status_code == 302:  # a form that does not check versions may save
            continue
        assert _row(record) == before, path


def _huge_version_on_a_valid_form_is_stale(world):
    records, client, _headers = world
    account = records["crm_account"]
    before = _row(account)
    response = client.post(f"/crm/accounts/{account.pk}/edit/", {
        "name": "Renamed", "status": account.status, "tier": account.tier,
        "size": account.size, "version": BIG})
    assert response.status_code in (400, 409), response.status_code
    assert _row(account) == before


def _bad_ids_in_posts(world, value):
    records, client, _headers = world
    assert client.post(reverse("core:notifications_read"), {"id": value}).status_code == 302
    for name in ("account", "contact"):
        response = client.post(reverse("crm:activity_log_call"), {name: value})
        assert response.status_code == 404, (name, response.status_code)
    response = client.post(reverse("crm:comment_post"), {"account": value, "body": "x"})
    assert 400 <= response.status_code < 500


def _api_huge_ids_are_4xx(world):
    _records, client, headers = world
    for path in (f"/api/v1/crm/accounts/{BIG}", f"/api/v1/crm/contacts/{BIG}",
                 f"/api/v1/hub/orders/{BIG}", f"/api/v1/members/{BIG}",
                 f"/api/v1/crm/documents/{BIG}", "/api/v1/crm/accounts/%C2%B2"):
        response = client.get(path, headers=headers)
        assert response.status_code in (404, 422), (path, response.status_code)
    for path in (f"/api/v1/crm/accounts?owner={BIG}", f"/api/v1/crm/accounts?cursor={BIG}",
                 f"/api/v1/crm/contacts?account={BIG}", "/api/v1/crm/accounts?cursor=abc",
                 f"/api/v1/sales/leads?owner={BIG}", "/api/v1/sales/leads?owner=%C2%B2",
                 f"/api/v1/crm/activities?account_id={BIG}"):
        response = client.get(path, headers=headers)
        assert response.status_code in (200, 400, 404, 422), (path, response.status_code)


# --- services that take raw ids from views and the API --------------------------------------

def test_services_refuse_huge_ids(org, owner):
    from jalin.crm import services as crm_services
    from jalin.hub.promotions import HubError, resolve_scope

    for value in (BIG, int(BIG), "abc"):
        with pytest.raises(crm_services.CrmError):
            crm_services.contact_create(organization=org, actor=owner, last_name="Huge",
                                        account=value)
    for value in (int(BIG), BIG):
        with pytest.raises(HubError):  # `pk__in` with a 25-digit id overflowed SQLite's driver
            resolve_scope(org, "products", [value])
