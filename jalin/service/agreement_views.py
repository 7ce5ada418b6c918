"""Agreement portfolio pages.

Staff (/service/agreements/): list with filters (status, kind, customer, expiring within N
days) and CSV, create/edit, detail with lifecycle moves, signatures, documents and history.
Portal (/service/my/agreements/): a buyer's own agreements; its approvers sign or decline.

Thin: reads through `portfolio_selectors`, writes through `agreements`.
"""

import csv

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param
from jalin.crm.documents import uploads
from jalin.crm.documents.views import download_response
from jalin.crm.models import Account
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SERVICE_EDIT, SERVICE_VIEW, has_perm
from jalin.tenancy.services import StaleVersion, TenancyError

from . import agreements
from . import portfolio_selectors as selectors
from .models import (
    AgreementDocument,
    AgreementKind,
    AgreementStatus,
    Service,
    SignatureDecision,
    SlaPolicy,
    Team,
)

EXPORT_LIMIT = 50_000
FORM_FIELDS = ("kind", "title", "counterparty", "required_attainment_percent",
               "availability_percent", "rto_minutes", "rpo_minutes", "maintenance_window",
               "starts_on", "ends_on", "review_on", "renewal_notice_days", "notes")


def _filters(request):
    status = request.GET.get("status") or None
    if status not in AgreementStatus.values:
        status = None
    kind = request.GET.get("kind") or None
    if kind not in AgreementKind.values:
        kind = None
    account_id = int_param(request.GET.get("account"))
    expiring = int_param(request.GET.get("expiring"))
    if expiring is not None and not 0 <= expiring <= 3650:
        expiring = None
    queryset = selectors.agreements_for(organization=request.organization, status=status,
                                        kind=kind, account_id=account_id,
                                        expiring_within=expiring)
    return queryset, {"status": status, "kind": kind, "account_id": account_id,
                      "expiring": expiring}


@org_required(SERVICE_VIEW)
@require_GET
def agreement_list(request):
    queryset, filters = _filters(request)
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    return render(request, "service/agreements.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=50), **filters,
        "statuses": AgreementStatus.choices, "kinds": AgreementKind.choices,
        "accounts": list(Account.objects.filter(organization=request.organization,
                                                archived_at__isnull=True)
                         .order_by("name").values_list("pk", "name")[:2000]),
        "export_query": query.urlencode(),
        "can_edit": has_perm(request.membership, SERVICE_EDIT),
    })


@org_required(SERVICE_VIEW)
@require_GET
def agreement_export(request):
    queryset, _filters_used = _filters(request)
    writer = csv.writer(Echo())
    header = ["number", "kind", "title", "status", "customer", "team", "counterparty",
              "sla_policy", "required_attainment_percent", "availability_percent",
              "starts_on", "ends_on", "review_on", "renewal_notice_days", "owner"]

    def rows():
        yield "\ufeff"
        yield writer.writerow(header)
        for item in queryset.order_by("-id")[:EXPORT_LIMIT].iterator(chunk_size=500):
            yield writer.writerow([safe_cell(value) for value in (
                f"AGR-{item.number}", item.kind, item.title, item.status,
                item.account.name if item.account else "", item.team.name if item.team else "",
                item.counterparty, item.sla_policy.name if item.sla_policy else "",
                item.required_attainment_percent, item.availability_percent or "",
                item.starts_on or "", item.ends_on or "", item.review_on or "",
                item.renewal_notice_days, item.owner.get_username() if item.owner else "")])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="agreements.csv"'
    return response


def _posted(request):
    """The form's fields as service keyword arguments (ids resolved within the org)."""
    organization = request.organization
    data = {name: request.POST.get(name, "") for name in FORM_FIELDS}

    def own(model, raw, message, field):
        pk = int_param(raw)
        if not pk:
            return None
        obj = model.objects.filter(organization=organization, pk=pk).first()
        if obj is None:
            raise TenancyError(message, code="not_found", field=field)
        return obj

    data["account"] = own(Account, request.POST.get("account"), _("No such customer."),
                          "account")
    data["team"] = own(Team, request.POST.get("team"), _("No such team."), "team")
    data["sla_policy"] = own(SlaPolicy, request.POST.get("sla_policy"),
                             _("No such SLA policy."), "sla_policy")
    ids = [pk for pk in (int_param(raw) for raw in request.POST.getlist("services")) if pk]
    services = list(Service.objects.filter(organization=organization, pk__in=ids))
    if len(services) != len(set(ids)):
        raise TenancyError(_("No such service."), code="not_found", field="services")
    data["services"] = services
    owner_id = int_param(request.POST.get("owner"))
    data["owner"] = None
    if owner_id:
        data["owner"] = get_user_model().objects.filter(
            pk=owner_id, memberships__organization=organization,
            memberships__is_active=True).first()
        if data["owner"] is None:
            raise TenancyError(_("The owner must be a member of your organization."),
                               code="not_found", field="owner")
    return data


def _form(request, *, agreement, values, error=None, field=None, status=200):
    return render(request, "service/agreement_form.html", {
        "agreement": agreement, "values": values, "error": error, "error_field": field,
        "kinds": AgreementKind.choices, **agreements.form_choices(request.organization),
        "selected_services": {int_param(v) for v in values.get("services_ids", [])},
    }, status=status)


def _values_of(agreement):
    values = {name: getattr(agreement, name) for name in FORM_FIELDS}
    for name in ("starts_on", "ends_on", "review_on"):
        values[name] = values[name].isoformat() if values[name] else ""
    for name in ("availability_percent", "rto_minutes", "rpo_minutes"):
        values[name] = "" if values[name] is None else values[name]
    values.update(account=agreement.account_id, team=agreement.team_id,
                  sla_policy=agreement.sla_policy_id, owner=agreement.owner_id,
                  services_ids=[service.pk for service in agreement.services.all()])
    return values


def _values_posted(request):
    values = {name: request.POST.get(name, "") for name in FORM_FIELDS}
    values.update({name: int_param(request.POST.get(name)) for name in (
        "account", "team", "sla_policy", "owner")})
    values["services_ids"] = request.POST.getlist("services")
    return values


@org_required(SERVICE_EDIT)
@require_http_methods(["GET", "POST"])
def agreement_create(request):
    if request.method == "GET":
        values = {"kind": AgreementKind.SLA, "required_attainment_percent": "95",
                  "renewal_notice_days": 60, "owner": request.user.pk,
                  "account": int_param(request.GET.get("account"))}
        return _form(request, agreement=None, values=values)
    try:
        agreement = agreements.agreement_create(organization=request.organization,
                                                actor=request.user, **_posted(request))
    except TenancyError as exc:
        return _form(request, agreement=None, values=_values_posted(request),
                     error=exc.message, field=exc.field, status=400)
    messages.success(request, _("Agreement AGR-%(number)s created.") % {
        "number": agreement.number})
    return redirect("service:agreement_detail", pk=agreement.pk)


@org_required(SERVICE_EDIT)
@require_http_methods(["GET", "POST"])
def agreement_edit(request, pk):
    agreement = selectors.agreement_detail(organization=request.organization, pk=pk)
    if request.method == "GET":
        return _form(request, agreement=agreement, values=_values_of(agreement))
    try:
        data = _posted(request)
        if agreement.status not in agreements.TERMS_OPEN:
            data = {name: data[name] for name in agreements.RUNNING_FIELDS}
        agreements.agreement_update(agreement=agreement, actor=request.user,
                                    version=int_param(request.POST.get("version"), default=0),
                                    **data)
    except StaleVersion as exc:
        return _form(request, agreement=agreement, values=_values_posted(request),
                     error=exc.message, status=409)
    except TenancyError as exc:
        return _form(request, agreement=agreement, values=_values_posted(request),
                     error=exc.message, field=exc.field, status=400)
    messages.success(request, _("Agreement saved."))
    return redirect("service:agreement_detail", pk=pk)


def _detail(request, pk, *, error=None, status=200):
    agreement = selectors.agreement_detail(organization=request.organization, pk=pk)
    can_edit = has_perm(request.membership, SERVICE_EDIT)
    return render(request, "service/agreement_detail.html", {
        "agreement": agreement, "can_edit": can_edit, "error": error, "portal": False,
        "targets": [(value, AgreementStatus(value).label)
                    for value in agreements.allowed_targets(agreement)] if can_edit else [],
        "parties": agreements.signable_parties(agreement, request.membership),
        "documents": list(agreement.documents.all()),
        "round_signatures": [s for s in agreement.signatures.all()
                             if s.round == agreement.signature_round],
        "max_mb": agreements.document_max_bytes() // (1024 * 1024),
    }, status=status)


@org_required(SERVICE_VIEW)
@require_GET
def agreement_detail(request, pk):
    return _detail(request, pk)


@org_required(SERVICE_EDIT)
@require_POST
def agreement_transition(request, pk):
    agreement = selectors.agreement_detail(organization=request.organization, pk=pk)
    try:
        agreements.agreement_transition(
            agreement=agreement, to_status=request.POST.get("to_status", ""),
            actor=request.user, comment=request.POST.get("comment", ""),
            version=int_param(request.POST.get("version"), default=0))
    except StaleVersion as exc:
        return _detail(request, pk, error=exc.message, status=409)
    except TenancyError as exc:
        return _detail(request, pk, error=exc.message, status=400)
    messages.success(request, _("Agreement status changed."))
    return redirect("service:agreement_detail", pk=pk)


def _sign(request, agreement):
    decision = (SignatureDecision.DECLINED if request.POST.get("decision") == "declined"
                else SignatureDecision.SIGNED)
    return agreements.agreement_sign(
        agreement=agreement, membership=request.membership, actor=request.user,
        party=request.POST.get("party", ""), decision=decision,
        comment=request.POST.get("comment", ""), signer_name=request.POST.get("signer_name", ""))


@org_required(SERVICE_EDIT)
@require_POST
def agreement_sign(request, pk):
    agreement = selectors.agreement_detail(organization=request.organization, pk=pk)
    try:
        _sign(request, agreement)
    except TenancyError as exc:
        return _detail(request, pk, error=exc.message,
                       status=403 if exc.code == "forbidden" else 400)
    messages.success(request, _("Signature recorded."))
    return redirect("service:agreement_detail", pk=pk)


@uploads.upload_view
@org_required(SERVICE_EDIT)
@require_POST
def agreement_document_add(request, pk):
    agreement = selectors.agreement_detail(organization=request.organization, pk=pk)
    if uploads.too_large(request):
        return _detail(request, pk, error=_("The file is too large."), status=413)
    try:
        agreements.agreement_document_add(
            agreement=agreement, actor=request.user, file=request.FILES.get("file"),
            title=request.POST.get("title", ""),
            shared_with_customer=request.POST.get("shared") == "on")
    except TenancyError as exc:
        return _detail(request, pk, error=exc.message,
                       status=413 if exc.code == "too_large" else 400)
    messages.success(request, _("Document attached."))
    return redirect("service:agreement_detail", pk=pk)


@org_required(SERVICE_VIEW)
@require_GET
def agreement_document_download(request, pk, document_id):
    agreement = selectors.agreement_detail(organization=request.organization, pk=pk)
    document = AgreementDocument.objects.filter(agreement=agreement, pk=document_id).first()
    if document is None:
        raise Http404
    return download_response(document)


# --- Portal (buyers) -----------------------------------------------------------------------


@org_required(SERVICE_VIEW)
@require_GET
def portal_agreement_list(request):
    status = request.GET.get("status") or None
    if status not in AgreementStatus.values:
        status = None
    queryset = selectors.portal_agreements_for(buyer=request.organization, status=status)
    return render(request, "service/portal_agreements.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=50), "status": status,
        "statuses": [choice for choice in AgreementStatus.choices if choice[0] != "draft"],
    })


def _portal_detail(request, pk, *, error=None, status=200):
    agreement = selectors.portal_agreement_detail(buyer=request.organization, pk=pk)
    return render(request, "service/agreement_detail.html", {
        "agreement": agreement, "portal": True, "error": error, "can_edit": False,
        "targets": [], "parties": agreements.signable_parties(agreement, request.membership),
        "documents": [d for d in agreement.documents.all() if d.shared_with_customer],
        "round_signatures": [s for s in agreement.signatures.all()
                             if s.round == agreement.signature_round],
        "today": timezone.localdate(),
    }, status=status)


@org_required(SERVICE_VIEW)
@require_GET
def portal_agreement_detail(request, pk):
    return _portal_detail(request, pk)


@org_required(SERVICE_VIEW)
@require_POST
def portal_agreement_sign(request, pk):
    agreement = selectors.portal_agreement_detail(buyer=request.organization, pk=pk)
    try:
        _sign(request, agreement)
    except TenancyError as exc:
        return _portal_detail(request, pk, error=exc.message,
                              status=403 if exc.code == "forbidden" else 400)
    messages.success(request, _("Thank you: your answer is recorded."))
    return redirect("service:portal_agreement_detail", pk=pk)


@org_required(SERVICE_VIEW)
@require_GET
def portal_agreement_document(request, pk, document_id):
    agreement = selectors.portal_agreement_detail(buyer=request.organization, pk=pk)
    document = AgreementDocument.objects.filter(agreement=agreement, pk=document_id,
                                                shared_with_customer=True).first()
    if document is None:
        raise Http404
    return download_response(document)
