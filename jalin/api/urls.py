"""The JSON API, mounted at /api/v1/ by config/urls.py.

OpenAPI document: /api/v1/openapi.json · interactive docs: /api/v1/docs · guide: docs/api.md
"""

from functools import wraps

from django.http import Http404
from django.urls import re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI

from jalin.core.notifications_api import router as notifications_router
from jalin.crm.activities.api import router as crm_activities_router
from jalin.crm.api import router as crm_router
from jalin.crm.documents.api import router as crm_documents_router
from jalin.crm.imports.api import router as crm_imports_router
from jalin.crm.search.api import router as crm_search_router
from jalin.crm.threads.api import router as crm_threads_router
from jalin.crm.timeline.api import router as crm_timeline_router

from .auth import BearerTokenAuth, SessionMembershipAuth
from .docs import LocalSwagger
from .errors import PROBLEM_CONTENT_TYPE, install_problem_handlers, problem_response
from .routers import (
    activity,
    auth,
    brm_customers,
    brm_registers,
    brm_reviews,
    hub,
    hub_addresses,
    hub_catalog,
    hub_invoices,
    hub_ordering,
    hub_orders,
    hub_payments,
    hub_promotions,
    hub_returns,
    hub_rfqs,
    me,
    members,
    sales_campaigns,
    sales_experiments,
    sales_forecast,
    sales_leads,
    sales_opportunities,
    sales_quotes,
    sales_segments,
    service_cases,
    service_mailboxes,
    service_portfolio,
    service_sla,
    service_surveys,
)

DESCRIPTION = """
Authenticate with `Authorization: Bearer <token>` (get one from `POST /auth/token`), or with
the browser session plus the `X-CSRFToken` header on unsafe methods.

Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code` and,
for invalid input, an `errors` list of `{field, loc, message, code}`.

Lists are keyset-paginated: `?limit=` (1-200, default 50) and `?cursor=<next_cursor>`.

POST, PATCH and DELETE accept an `Idempotency-Key` header: a retry with the same key replays
the first response (`Idempotent-Replayed: true`); the same key with another body is a 422.
"""


def _as_problem(view):
    """Give the answers ninja makes outside its exception handlers (405 from a path that
    exists with other methods, 404 from the API root) the problem format too."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return problem_response(request, 404, code="not_found", detail=_("Not found."))
        content_type = response.get("Content-Type", "")
        if response.status_code == 405 and not content_type.startswith(PROBLEM_CONTENT_TYPE):
            return problem_response(
                request, 405, code="method_not_allowed",
                detail=_("%(method)s is not allowed here.") % {"method": request.method},
                headers={"Allow": response.get("Allow", "")},
            )
        return response

    return wrapped


@csrf_exempt
def _unknown_path(request, *args, **kwargs):
    return problem_response(request, 404, code="not_found", detail=_("No such API endpoint."))


class JalinAPI(NinjaAPI):
    def _get_urls(self):
        patterns = super()._get_urls()
        for pattern in patterns:
            pattern.callback = _as_problem(pattern.callback)
        # Anything else under /api/v1/ is a JSON 404, not the HTML page.
        patterns.append(re_path(r"^.*$", _unknown_path, name="not-found"))
        return patterns

    def validation_error_from_error_contexts(self, error_contexts):
        error = super().validation_error_from_error_contexts(error_contexts)
        # A single schema body is parsed as {<parameter name>: body}; clients know nothing of
        # that name, so drop it from the error location.
        wrapped_names = {
            getattr(context.model, "__read_from_single_attr__", None)
            for context in error_contexts
        } - {None}
        for item in error.errors:
            loc = tuple(item.get("loc", ()))
            if len(loc) >= 2 and loc[0] == "body" and loc[1] in wrapped_names:
                item["loc"] = ("body",) + loc[2:]
        return error


api = JalinAPI(
    title="Jalin API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=[BearerTokenAuth(), SessionMembershipAuth()],
    docs=LocalSwagger(),
)
install_problem_handlers(api)

api.add_router("", auth.router)
api.add_router("", me.router)
api.add_router("", members.router)
api.add_router("", activity.router)
api.add_router("", hub.router)
api.add_router("", hub_catalog.router)
api.add_router("", hub_orders.router)
api.add_router("", hub_addresses.router)
api.add_router("", hub_invoices.router)
api.add_router("", hub_returns.router)
api.add_router("", hub_ordering.router)
api.add_router("", hub_rfqs.router)
api.add_router("", hub_payments.router)
api.add_router("", service_cases.router)
api.add_router("", service_portfolio.router)
api.add_router("", brm_customers.router)
api.add_router("", sales_leads.router)
api.add_router("", sales_forecast.router)
api.add_router("", sales_segments.router)
api.add_router("", hub_promotions.router)
api.add_router("", sales_opportunities.router)
api.add_router("", sales_quotes.router)
api.add_router("", sales_campaigns.router)
api.add_router("", sales_experiments.router)
api.add_router("", service_mailboxes.router)
# Imports and search first: their /crm/contacts/merge, /crm/accounts/merge and
# /crm/{accounts,contacts}/bulk must win over the /crm/contacts/{contact_id} and
# /crm/accounts/{account_id} patterns of the CRM router.
api.add_router("", crm_imports_router)
api.add_router("", crm_search_router)
api.add_router("", crm_router)
api.add_router("", crm_activities_router)
api.add_router("", crm_documents_router)
api.add_router("", crm_threads_router)
api.add_router("", crm_timeline_router)
api.add_router("", notifications_router)
api.add_router("", brm_reviews.router)
api.add_router("", brm_registers.router)
api.add_router("", service_sla.router)
api.add_router("", service_surveys.router)
