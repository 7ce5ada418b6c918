"""Sales pages for leads: the sales dashboard, the lead list (filters, sorts, keyset pages,
CSV), lead detail (score explanation, assignment, convert, disqualify), staff entry, CSV import,
scoring/assignment rules and territories, web forms admin, and the public web form."""

import csv
import json
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.accounts.services import client_ip
from jalin.api.pagination import paginate
from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.models import Event
from jalin.core.params import int_param
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW, has_perm
from jalin.tenancy.services import StaleVersion, TenancyError

from . import leads, webforms
from .lead_import import ImportRefused, import_leads
from .models import (
    AssignmentMethod,
    AssignmentRule,
    Campaign,
    Lead,
    LeadSource,
    LeadStatus,
    LeadWebForm,
    Opportunity,
    OpportunityStatus,
    ScoringRule,
    Territory,
)

PER_PAGE = 50
EXPORT_LIMIT = 50_000
SORTS = {"newest": ("-id",), "oldest": ("id",), "score": ("-score", "-id")}
OPEN = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED)


def _members(organization):
    return [m.user for m in Membership.objects.filter(organization=organization, is_active=True)
            .select_related("user").order_by("user__username")]


def _errors(exc):
    if isinstance(exc, ValidationError):
        return webforms.validation_messages(exc)
    return {(exc.field or "form").removesuffix("_id"): exc.message}


def opportunity_url(lead):
    if lead.converted_opportunity_id:
        try:
            return reverse("sales:opportunity_detail", args=[lead.converted_opportunity_id])
        except NoReverseMatch:
            pass
    if lead.converted_account_id:
        return reverse("crm:account_detail", args=[lead.converted_account_id])
    return reverse("sales:lead_detail", args=[lead.pk])


# --- Dashboard -----------------------------------------------------------------------------


@org_required(SALES_VIEW)
@require_GET
def home(request):
    organization = request.organization
    base = for_org(Lead, organization).select_related("owner")
    my_deals = (for_org(Opportunity, organization)
                .filter(owner=request.user, status=OpportunityStatus.OPEN)
                .select_related("account", "stage"))
    return render(request, "sales/home.html", {
        "my_leads": list(base.filter(owner=request.user, status__in=OPEN)
                         .order_by("-score", "-id")[:10]),
        "unassigned": list(base.filter(owner__isnull=True, status__in=OPEN)
                           .order_by("-score", "-id")[:10]),
        "conversions": list(base.filter(status=LeadStatus.CONVERTED)
                            .select_related("converted_account")
                            .order_by("-converted_at")[:10]),
        # The seller's own open deals by close date, and those gone quiet (the stale-deal job
        # marks them); both ride the (organization, owner, status, close_date) index.
        "my_deals": list(my_deals.order_by("close_date", "id")[:10]),
        "stale_deals": list(my_deals.filter(stale_alerted_at__isnull=False)
                            .order_by("stale_alerted_at", "id")[:10]),
        "can_edit": has_perm(request.membership, SALES_EDIT),
    })


# --- List ----------------------------------------------------------------------------------


def _filtered(request):
    organization = request.organization
    params = request.GET
    queryset = for_org(Lead, organization).select_related("owner", "territory")
    status = params.get("status", "open")
    if status == "open":
        queryset = queryset.filter(status__in=OPEN)
    elif status in LeadStatus.values:
        queryset = queryset.filter(status=status)
    owner = params.get("owner", "")
    if owner == "mine":
        queryset = queryset.filter(owner=request.user)
    elif owner == "none":
        queryset = queryset.filter(owner__isnull=True)
    elif int_param(owner):
        queryset = queryset.filter(owner_id=int_param(owner))
    if params.get("source") in LeadSource.values:
        queryset = queryset.filter(source=params["source"])
    if int_param(params.get("min_score")) is not None:
        queryset = queryset.filter(score__gte=int_param(params["min_score"]))
    q = params.get("q", "").strip()[:100]
    if q:
        queryset = queryset.filter(Q(email__icontains=q) | Q(company__icontains=q)
                                   | Q(last_name__icontains=q) | Q(first_name__icontains=q))
    sort = params.get("sort") if params.get("sort") in SORTS else "newest"
    return queryset, sort, {"status": status, "owner": owner,
                            "source": params.get("source", ""),
                            "min_score": params.get("min_score", ""), "q": q, "sort": sort}


@org_required(SALES_VIEW)
@require_GET
def lead_list(request):
    queryset, sort, filters = _filtered(request)
    try:
        page = paginate(queryset, cursor=request.GET.get("cursor") or None, limit=PER_PAGE,
                        order=SORTS[sort])
    except Exception:  # noqa: BLE001 - a tampered cursor starts from the top
        page = paginate(queryset, limit=PER_PAGE, order=SORTS[sort])
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(request, "sales/leads.html", {
        "page": page, "filters": filters, "query": query.urlencode(),
        "statuses": LeadStatus.choices, "sources": LeadSource.choices,
        "members": _members(request.organization),
        "can_edit": has_perm(request.membership, SALES_EDIT),
    })


@org_required(SALES_VIEW)
@require_GET
def lead_export(request):
    queryset, sort, _filters = _filtered(request)
    writer = csv.writer(Echo())
    header = ["id", "first_name", "last_name", "company", "email", "phone", "status", "source",
              "score", "owner", "country", "region", "city", "industry", "created_at"]

    def rows():
        yield "\ufeff"
        yield writer.writerow(header)
        for lead in queryset.order_by(*SORTS[sort])[:EXPORT_LIMIT].iterator(chunk_size=500):
            yield writer.writerow([safe_cell(value) for value in (
                lead.pk, lead.first_name, lead.last_name, lead.company, lead.email, lead.phone,
                lead.status, lead.source, lead.score,
                lead.owner.get_username() if lead.owner else "", lead.country, lead.region,
                lead.city, lead.industry, lead.created_at.isoformat())])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="leads.csv"'
    return response


# --- Staff entry and import ----------------------------------------------------------------


@org_required(SALES_EDIT)
@require_http_methods(["GET", "POST"])
def lead_new(request):
    organization = request.organization
    data = request.POST if request.method == "POST" else {}
    errors, status = {}, 200
    if request.method == "POST":
        fields = {name: data.get(name, "") for name in webforms.FORM_FIELDS}
        fields["email_opt_in"] = bool(data.get("email_opt_in"))
        try:
            lead = leads.lead_create(organization=organization, actor=request.user,
                                     source=LeadSource.STAFF,
                                     owner=data.get("owner") or None, **fields)
        except (ValidationError, TenancyError) as exc:
            errors, status = _errors(exc), 400
        else:
            messages.success(request, _("Lead saved."))
            return redirect("sales:lead_detail", pk=lead.pk)
    return render(request, "sales/lead_new.html", {
        "data": data, "errors": errors,
        "rows": [(name, label, data.get(name, ""), errors.get(name, ""))
                 for name, label in webforms.FORM_FIELDS.items()],
        "members": _members(organization)}, status=status)


@org_required(SALES_EDIT)
@require_http_methods(["GET", "POST"])
def lead_import(request):
    result, error, status = None, "", 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            result = import_leads(organization=request.organization, actor=request.user,
                                  upload=upload)
        except ImportRefused as exc:
            error, status = exc.message, 400
            result = exc.result
        else:
            messages.success(request, _("%(count)d leads imported.") % {"count": result.created})
            return redirect("sales:leads")
    return render(request, "sales/lead_import.html", {
        "result": result, "error": error}, status=status)


# --- Detail and actions --------------------------------------------------------------------


def _lead(request, pk):
    return get_for_org_or_404(
        Lead.objects.select_related("owner", "territory", "web_form", "converted_account",
                                    "converted_contact", "converted_opportunity"),
        request.organization, pk=pk)


@org_required(SALES_VIEW)
@require_GET
def lead_detail(request, pk):
    return _detail_page(request, pk)


def _detail_page(request, pk, errors=None, status=200):
    lead = _lead(request, pk)
    history = list(Event.objects.filter(organization=request.organization,
                                        aggregate_type="sales.lead", aggregate_id=str(lead.pk))
                   .order_by("id")[:100])
    return render(request, "sales/lead_detail.html", {
        "lead": lead, "history": history, "errors": errors or {},
        "suggestions": leads.account_suggestions(lead) if lead.status in OPEN else [],
        "members": _members(request.organization),
        "can_edit": has_perm(request.membership, SALES_EDIT),
        "is_open": lead.status in OPEN,
    }, status=status)


@org_required(SALES_EDIT)
@require_POST
def lead_convert(request, pk):
    lead = _lead(request, pk)
    data = request.POST
    organization = request.organization
    try:
        account = None
        if int_param(data.get("account")):
            account = for_org(leads.Account, organization).filter(
                pk=int_param(data["account"]), archived_at__isnull=True).first()
            if account is None:
                raise leads.SalesError(_("No such account in this organization."),
                                       code="not_found", field="account_id")
        amount = None
        if data.get("amount", "").strip():
            try:
                amount = Decimal(data["amount"].strip().replace(",", ""))
            except InvalidOperation:
                raise ValidationError({"amount": [_("Enter a number.")]}) from None
        lead = leads.lead_convert(lead=lead, actor=request.user, account=account,
                                  create_opportunity=data.get("opportunity", "1") == "1",
                                  opportunity_name=data.get("opportunity_name", ""),
                                  amount=amount, version=int_param(data.get("version")))
    except StaleVersion as exc:
        return _detail_page(request, pk, errors={"convert": exc.message}, status=409)
    except leads.SalesError as exc:
        code = 409 if exc.code == "already_converted" else 400
        return _detail_page(request, pk, errors={"convert": exc.message}, status=code)
    except ValidationError as exc:
        return _detail_page(request, pk, errors={"convert": " ".join(
            webforms.validation_messages(exc).values())}, status=400)
    messages.success(request, _("Lead converted."))
    return redirect(opportunity_url(lead))


@org_required(SALES_EDIT)
@require_POST
def lead_disqualify(request, pk):
    lead = _lead(request, pk)
    try:
        leads.lead_disqualify(lead=lead, actor=request.user, reason=request.POST.get("reason"),
                              version=int_param(request.POST.get("version")))
    except StaleVersion as exc:
        return _detail_page(request, pk, errors={"disqualify": exc.message}, status=409)
    except (ValidationError, TenancyError) as exc:
        return _detail_page(request, pk, errors={"disqualify": " ".join(_errors(exc).values())},
                           status=400)
    messages.success(request, _("Lead disqualified."))
    return redirect("sales:lead_detail", pk=pk)


@org_required(SALES_EDIT)
@require_POST
def lead_assign(request, pk):
    lead = _lead(request, pk)
    owner = request.POST.get("owner") or None
    try:
        if owner:
            leads.lead_assign(lead=lead, actor=request.user, owner=owner,
                              version=int_param(request.POST.get("version")))
        else:
            leads.lead_assign(lead=lead, actor=request.user,
                              version=int_param(request.POST.get("version")))
    except StaleVersion as exc:
        return _detail_page(request, pk, errors={"assign": exc.message}, status=409)
    except (ValidationError, TenancyError) as exc:
        return _detail_page(request, pk, errors={"assign": " ".join(_errors(exc).values())},
                           status=400)
    messages.success(request, _("Lead assigned."))
    return redirect("sales:lead_detail", pk=pk)


# --- Rules and territories -----------------------------------------------------------------


@org_required(SALES_VIEW)
@require_http_methods(["GET", "POST"])
def lead_rules(request):
    organization = request.organization
    errors, status = {}, 200
    if request.method == "POST":
        if not has_perm(request.membership, SALES_EDIT):
            raise Http404
        data = request.POST
        kind = data.get("kind")
        try:
            if kind == "scoring":
                rule = None
                if int_param(data.get("rule")):
                    rule = get_for_org_or_404(ScoringRule, organization, pk=int_param(data["rule"]))
                if data.get("delete") and rule is not None:
                    leads.scoring_rule_delete(rule=rule, actor=request.user)
                else:
                    points = int_param(data.get("points"))
                    leads.scoring_rule_save(
                        organization=organization, actor=request.user, rule=rule,
                        label=data.get("label", ""), field=data.get("field", ""),
                        operator=data.get("operator", ""), value=data.get("value", ""),
                        points=points if points is not None else "x",
                        is_active=bool(data.get("is_active", "1")))
            elif kind == "assignment":
                rule = None
                if int_param(data.get("rule")):
                    rule = get_for_org_or_404(AssignmentRule, organization,
                                              pk=int_param(data["rule"]))
                if data.get("delete") and rule is not None:
                    rule.delete()
                else:
                    leads.assignment_rule_save(
                        organization=organization, actor=request.user, rule=rule,
                        name=data.get("name", ""), method=data.get("method", ""),
                        position=int_param(data.get("position")) or 0,
                        user_ids=[int_param(v) or -1 for v in data.getlist("users")])
            elif kind == "territory":
                territory = None
                if int_param(data.get("territory")):
                    territory = get_for_org_or_404(Territory, organization,
                                                   pk=int_param(data["territory"]))
                if data.get("delete") and territory is not None:
                    territory.delete()
                else:
                    leads.territory_save(
                        organization=organization, actor=request.user, territory=territory,
                        name=data.get("name", ""),
                        criteria={key: data.get(key, "") for key in
                                  ("country", "region", "city", "industry")},
                        member_ids=[int_param(v) or -1 for v in data.getlist("members")],
                        position=int_param(data.get("position")) or 0)
            else:
                raise ValidationError({"form": [_("Unknown form.")]})
        except (ValidationError, TenancyError) as exc:
            errors = {kind or "form": " ".join(_errors(exc).values())}
            status = 400
        else:
            messages.success(request, _("Saved."))
            return redirect("sales:lead_rules")
    return render(request, "sales/lead_rules.html", {
        "scoring_rules": list(for_org(ScoringRule, organization)),
        "assignment_rules": list(for_org(AssignmentRule, organization)
                                 .select_related("last_assigned").prefetch_related("users")),
        "territories": list(for_org(Territory, organization).prefetch_related("members")),
        "fields": leads.SCORING_FIELDS, "operators": leads.OPERATORS.items(),
        "methods": AssignmentMethod.choices, "members": _members(organization),
        "errors": errors, "data": request.POST,
        "can_edit": has_perm(request.membership, SALES_EDIT),
    }, status=status)


# --- Web forms admin -----------------------------------------------------------------------


@org_required(SALES_VIEW)
@require_GET
def web_forms(request):
    return render(request, "sales/web_forms.html", {
        "forms": list(for_org(LeadWebForm, request.organization)),
        "can_edit": has_perm(request.membership, SALES_EDIT),
    })


@org_required(SALES_EDIT)
@require_http_methods(["GET", "POST"])
def web_form_edit(request, pk=None):
    organization = request.organization
    form = get_for_org_or_404(LeadWebForm, organization, pk=pk) if pk else None
    errors, status = {}, 200
    if request.method == "POST":
        data = request.POST
        try:
            form = webforms.webform_save(
                organization=organization, actor=request.user, form=form,
                name=data.get("name", ""), fields=data.getlist("fields"),
                thank_you=data.get("thank_you", ""),
                allowed_origins=data.get("allowed_origins", ""),
                default_owner=data.get("default_owner") or None,
                campaign=data.get("campaign") or None, is_active=bool(data.get("is_active")))
        except (ValidationError, TenancyError) as exc:
            errors, status = _errors(exc), 400
        else:
            messages.success(request, _("Web form saved."))
            return redirect("sales:web_form_edit", pk=form.pk)
        values = {"name": data.get("name", ""), "fields": data.getlist("fields"),
                  "thank_you": data.get("thank_you", ""),
                  "allowed_origins": data.get("allowed_origins", ""),
                  "default_owner": int_param(data.get("default_owner")),
                  "campaign": int_param(data.get("campaign")),
                  "is_active": bool(data.get("is_active"))}
    elif form is not None:
        values = {"name": form.name, "fields": form.fields, "thank_you": form.thank_you,
                  "allowed_origins": "\n".join(form.allowed_origins),
                  "default_owner": form.default_owner_id, "campaign": form.campaign_id,
                  "is_active": form.is_active}
    else:
        values = {"name": "", "fields": webforms.DEFAULT_FIELDS, "thank_you": "",
                  "allowed_origins": "", "default_owner": None, "campaign": None,
                  "is_active": True}
    public_url = (request.build_absolute_uri(reverse("sales:web_form_public", args=[form.key]))
                  if form and form.pk else "")
    return render(request, "sales/web_form_edit.html", {
        "form": form, "values": values, "errors": errors, "all_fields": webforms.FORM_FIELDS,
        "members": _members(organization),
        "campaigns": list(for_org(Campaign, organization).order_by("name")[:200]),
        "public_url": public_url,
        "snippet": (f'<iframe src="{public_url}" title="Contact form" width="100%" '
                    f'height="640" style="border:0"></iframe>') if public_url else "",
    }, status=status)


# --- The public form -----------------------------------------------------------------------


def _own_origin(request):
    return f"{request.scheme}://{request.get_host()}"


def _frame_headers(response, form):
    """Only the form's allowed sites may frame it (CSP frame-ancestors)."""
    config = dict(settings.SECURE_CSP)
    config["frame-ancestors"] = ["'self'", *form.allowed_origins]
    config["form-action"] = ["'self'"]
    response._csp_config = config
    if not form.allowed_origins:
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _cors(response, request, form):
    origin = (request.headers.get("Origin") or "").rstrip("/").lower()
    if origin and origin in form.allowed_origins:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "600"
        response["Vary"] = "Origin"
    return response


def _render_public(request, form, *, data=None, errors=None, status=200, done=False):
    utm = {key: request.GET.get(key, "")[:200] for key in (
        "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
        if request.GET.get(key)}
    if data is not None:
        utm = {key: data.get(key, "")[:200] for key in utm or (
            "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
            if data.get(key)}
    response = render(request, "sales/web_form_public.html", {
        "form": form, "token": webforms.issue_token(form), "data": data or {},
        "errors": errors or {}, "done": done, "honeypot": webforms.HONEYPOT,
        "rows": [(name, webforms.FORM_FIELDS[name], (data or {}).get(name, ""),
                  (errors or {}).get(name, "")) for name in form.fields],
        "utm": utm,
    }, status=status)
    return _frame_headers(response, form)


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def web_form_public(request, key):
    form = (LeadWebForm.objects.select_related("organization", "campaign")
            .filter(key=key, is_active=True).first())
    if form is None:
        raise Http404
    is_json = request.content_type == "application/json" or request.GET.get("format") == "json"
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), request, form)
    if request.method == "GET":
        if is_json:
            return _cors(JsonResponse({"token": webforms.issue_token(form),
                                       "fields": form.fields,
                                       "min_fill_seconds": webforms.MIN_FILL_SECONDS}),
                         request, form)
        return _render_public(request, form)
    # POST
    data = {}
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    try:
        if length > webforms.MAX_BODY_BYTES:
            raise webforms.SpamRefused(413, "too_large", _("The form is too large."))
        if request.content_type == "application/json":
            if is_json and (request.headers.get("Origin") or "").rstrip("/").lower() not in \
                    form.allowed_origins:
                raise webforms.SpamRefused(403, "origin_refused",
                                           _("This site may not send this form."))
            try:
                data = json.loads(request.body[:webforms.MAX_BODY_BYTES + 1] or b"{}")
            except ValueError:
                raise webforms.SpamRefused(400, "bad_json", _("Send a JSON object.")) from None
            if not isinstance(data, dict):
                raise webforms.SpamRefused(400, "bad_json", _("Send a JSON object."))
            data = {str(k): v if isinstance(v, (str, bool, int)) else "" for k, v in data.items()}
        else:
            data = request.POST
            webforms.check_origin(form, request.headers.get("Origin"),
                                  own_origin=_own_origin(request))
        if data.get(webforms.HONEYPOT):
            raise webforms.SpamRefused(400, "spam", _("The form could not be sent."))
        webforms.check_token(form, str(data.get("ts") or ""))
        webforms.check_rate(form, client_ip(request) or "unknown")
        leads.lead_create(organization=form.organization, actor=None,
                          source=LeadSource.WEB_FORM, web_form=form, campaign=form.campaign,
                          owner=form.default_owner_id or None,
                          **webforms.submitted_fields(form, data))
    except webforms.SpamRefused as exc:
        if is_json or request.content_type == "application/json":
            return _cors(JsonResponse({"code": exc.code, "detail": exc.message},
                                      status=exc.status), request, form)
        return _render_public(request, form, data=data, errors={"form": exc.message},
                              status=exc.status)
    except (ValidationError, TenancyError) as exc:
        errors = _errors(exc)
        if request.content_type == "application/json":
            return _cors(JsonResponse({"code": "invalid", "errors": errors}, status=422),
                         request, form)
        return _render_public(request, form, data=data, errors=errors, status=400)
    if request.content_type == "application/json":
        return _cors(JsonResponse({"ok": True, "message": form.thank_you or _(
            "Thank you. We will be in touch.")}, status=201), request, form)
    return _render_public(request, form, done=True)
