"""Staff pages of the service desk: the case list (filters, sorts, keyset pages, CSV, live
SLA countdowns), a case's page (conversation, reply or internal note with canned replies,
status, edits with optimistic versions, history, SLA clocks), new case, and merging.

Views stay thin: reads through `case_selectors`, writes through `cases`. Only a supplier
organization has a desk; everyone else gets 404 here (buyers use the portal pages).
"""

import csv

from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.params import int_param
from jalin.crm.models import Contact
from jalin.hub import order_selectors
from jalin.tenancy.access import for_org
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SERVICE_EDIT, SERVICE_VIEW, has_perm
from jalin.tenancy.services import StaleVersion

from . import case_selectors as sel
from . import cases, desk
from .cases import ServiceError
from .models import (
    Agreement,
    CaseChannel,
    CaseKind,
    CasePriority,
    CaseStatus,
    MessageVisibility,
    Service,
)

PER_PAGE = 50
EXPORT_LIMIT = 50_000
PICKER_LIMIT = 500


def staff_only(request):
    """The desk belongs to a supplier organization; anyone else gets 404."""
    if not request.organization.is_supplier:
        raise Http404


def _pick(queryset, value):
    """The row of `queryset` (already scoped to the organization) with id `value`; None for
    an empty value; raises ServiceError for anything else (not found reads the same)."""
    if value in (None, ""):
        return None
    pk = int_param(value, positive=True)
    row = queryset.filter(pk=pk).first() if pk else None
    if row is None:
        raise ServiceError(_("No such record."), code="not_found")
    return row


# --- List ----------------------------------------------------------------------------------


def _list_context(request):
    organization = request.organization
    filters = sel.parse_filters(request.GET)
    queryset = sel.desk_cases(organization=organization, filters=filters, user=request.user)
    return filters, queryset


@org_required(SERVICE_VIEW)
@require_GET
def case_list(request):
    staff_only(request)
    filters, queryset = _list_context(request)
    page = sel.seek(queryset, sort=filters.sort, cursor=request.GET.get("cursor", ""),
                    limit=PER_PAGE)
    query = request.GET.copy()
    query.pop("cursor", None)
    organization = request.organization
    return render(request, "service/cases.html", {
        "page": page, "filters": filters, "now": timezone.now(),
        "statuses": CaseStatus.choices, "kinds": CaseKind.choices,
        "priorities": CasePriority.choices,
        "agents": sel.agents_for(organization=organization),
        "teams": list(sel.teams_for(organization=organization)),
        "accounts": list(sel.accounts_for(organization=organization)
                         .values_list("pk", "name")[:PICKER_LIMIT]),
        "sorts": [("newest", _("Newest")), ("oldest", _("Oldest")),
                  ("updated", _("Recently updated")), ("priority", _("Priority")),
                  ("due", _("SLA due soonest"))],
        "export_query": query.urlencode(), "can_edit": has_perm(request.membership,
                                                                SERVICE_EDIT),
    })


@org_required(SERVICE_VIEW)
@require_GET
def case_export(request):
    """The filtered list as CSV (in the chosen order, at most EXPORT_LIMIT rows), streamed."""
    staff_only(request)
    filters, queryset = _list_context(request)
    writer = csv.writer(Echo())
    header = ["number", "subject", "kind", "status", "priority", "channel", "account",
              "contact", "assignee", "team", "category", "sla_due_at", "sla_metric",
              "first_responded_at", "resolved_at", "created_at", "updated_at"]

    def iso(value):
        return value.isoformat() if value else ""

    def rows():
        yield "\ufeff"
        yield writer.writerow(header)
        ordered = queryset.order_by(*sel.SORTS[filters.sort])[:EXPORT_LIMIT]
        for case in ordered.iterator(chunk_size=500):
            yield writer.writerow([safe_cell(value) for value in (
                case.number, case.subject, case.kind, case.status, case.priority, case.channel,
                case.account.name if case.account else "",
                str(case.contact) if case.contact else "",
                case.assignee.get_username() if case.assignee else "",
                case.team.name if case.team else "", case.category, iso(case.due_at),
                case.due_metric or "", iso(case.first_responded_at), iso(case.resolved_at),
                iso(case.created_at), iso(case.updated_at))])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="cases.csv"'
    return response


# --- New case ------------------------------------------------------------------------------


def _new_case_pickers(organization, account):
    contacts = for_org(Contact, organization).filter(archived_at__isnull=True)
    contacts = contacts.filter(account=account) if account else contacts.none()
    orders = []
    if account is not None and account.hub_organization_id:
        orders = list(order_selectors.orders_for(organization=organization, side="supplier")
                      .filter(buyer_id=account.hub_organization_id).order_by("-id")[:50])
    return {
        "accounts": list(sel.accounts_for(organization=organization)
                         .values_list("pk", "name")[:PICKER_LIMIT]),
        "contacts": list(contacts.order_by("last_name", "first_name", "id")[:PICKER_LIMIT]),
        "orders": orders,
        "services": list(for_org(Service, organization).order_by("name")[:PICKER_LIMIT]),
        "teams": list(sel.teams_for(organization=organization)),
        "agents": sel.agents_for(organization=organization),
    }


@org_required(SERVICE_EDIT)
@require_http_methods(["GET", "POST"])
def case_new(request):
    staff_only(request)
    organization = request.organization
    data = request.POST if request.method == "POST" else request.GET
    account = None
    errors, status = {}, 200
    try:
        account = _pick(sel.accounts_for(organization=organization), data.get("account"))
    except ServiceError:
        errors["account"] = _("No such account.")
    if request.method == "POST" and not errors and not data.get("refresh"):
        try:
            contact = _pick(for_org(Contact, organization), data.get("contact"))
            order = _pick(order_selectors.orders_for(organization=organization,
                                                     side="supplier"), data.get("order"))
            service = _pick(for_org(Service, organization), data.get("service"))
            team = _pick(sel.teams_for(organization=organization), data.get("team"))
            assignee_id = int_param(data.get("assignee"), positive=True)
            assignee = next((agent for agent in sel.agents_for(organization=organization)
                             if agent.pk == assignee_id), None)
            if data.get("assignee") and assignee is None:
                raise ServiceError(_("No such agent."), code="not_found", field="assignee")
            case = cases.case_open(
                organization=organization, subject=data.get("subject", ""),
                kind=data.get("kind", ""), channel=data.get("channel") or CaseChannel.STAFF,
                description=data.get("description", ""),
                priority=data.get("priority") or None, actor=request.user, account=account,
                contact=contact, order=order, service=service, team=team, assignee=assignee,
                category=data.get("category", ""),
                requester_email=data.get("requester_email", ""))
        except ServiceError as exc:
            errors[exc.field or "form"] = exc.message
            status = 400
        else:
            messages.success(request, _("Case #%(number)s opened.") % {"number": case.number})
            return redirect("service:case_detail", pk=case.pk)
    elif request.method == "POST" and errors:
        status = 400
    return render(request, "service/case_new.html", {
        "data": data, "errors": errors, "account": account,
        "kinds": CaseKind.choices, "priorities": CasePriority.choices,
        "channels": [(value, label) for value, label in CaseChannel.choices
                     if value != CaseChannel.SURVEY],
        **_new_case_pickers(organization, account),
    }, status=status)


@org_required(SERVICE_EDIT)
@require_GET
def contact_options(request):
    """htmx: the contact <select> for the chosen account on the new case form."""
    staff_only(request)
    organization = request.organization
    account = sel.accounts_for(organization=organization).filter(
        pk=int_param(request.GET.get("account"), positive=True) or 0).first()
    return render(request, "service/_contact_options.html",
                  {"contacts": _new_case_pickers(organization, account)["contacts"]})


# --- Detail --------------------------------------------------------------------------------


def _detail_page(request, pk, *, status=200, error=None, body="", visibility="public",
                 edit_errors=None):
    staff_only(request)
    organization = request.organization
    case = sel.case_detail(organization=organization, pk=pk)
    can_edit = has_perm(request.membership, SERVICE_EDIT)
    read_only = case.status in cases.READ_ONLY
    context = {
        "case": case, "messages_list": sel.conversation(case), "history": sel.history(case),
        "clocks": sel.sla_clocks(case), "now": timezone.now(), "error": error,
        "body": body, "visibility": visibility, "can_edit": can_edit and not read_only,
        "can_reply": can_edit and case.status not in cases.READ_ONLY,
        "statuses": [(value, CaseStatus(value).label) for value in cases.allowed_statuses(case)],
        "edit_errors": edit_errors or {},
    }
    if can_edit and not read_only:
        context.update({
            "canned": list(sel.canned_replies_for(organization=organization)),
            "priorities": CasePriority.choices, "kinds": CaseKind.choices,
            "agents": sel.agents_for(organization=organization),
            "teams": list(sel.teams_for(organization=organization)),
            "services": list(for_org(Service, organization).order_by("name")[:PICKER_LIMIT]),
            "agreements": list(for_org(Agreement, organization).filter(
                account_id=case.account_id).order_by("-number")[:50])
            if case.account_id else [],
            "accounts": list(sel.accounts_for(organization=organization)
                             .values_list("pk", "name")[:PICKER_LIMIT]),
            "orders": list(order_selectors.orders_for(organization=organization,
                                                      side="supplier")
                           .filter(buyer_id=case.buyer_id).order_by("-id")[:50])
            if case.buyer_id else ([case.order] if case.order_id else []),
            "contacts": list(for_org(Contact, organization).filter(
                account_id=case.account_id, archived_at__isnull=True)
                .order_by("last_name", "first_name")[:PICKER_LIMIT])
            if case.account_id else [],
        })
    return render(request, "service/case_detail.html", context, status=status)


@org_required(SERVICE_VIEW)
@require_GET
def case_detail(request, pk):
    return _detail_page(request, pk)


@org_required(SERVICE_EDIT)
@require_POST
def case_reply(request, pk):
    """Post a public reply or an internal note; "insert" adds a canned reply to the text
    instead (no JavaScript needed)."""
    staff_only(request)
    case = sel.case_detail(organization=request.organization, pk=pk)
    body = request.POST.get("body", "")
    visibility = (MessageVisibility.INTERNAL if request.POST.get("internal")
                  else MessageVisibility.PUBLIC)
    if request.POST.get("insert") is not None:
        body = _with_canned(request, case, body, request.POST.get("canned"))
        return _detail_page(request, pk, body=body, visibility=visibility)
    try:
        cases.case_add_message(case=case, body=body, from_staff=True,
                               channel=CaseChannel.STAFF, visibility=visibility,
                               author=request.user)
    except ServiceError as exc:
        return _detail_page(request, pk, status=400, error=exc.message, body=body,
                            visibility=visibility)
    if visibility == MessageVisibility.INTERNAL:
        messages.success(request, _("Internal note added."))
    else:
        messages.success(request, _("Reply sent."))
    return redirect("service:case_detail", pk=case.pk)


def _with_canned(request, case, body, canned_id):
    reply = sel.canned_replies_for(organization=request.organization).filter(
        pk=int_param(canned_id, positive=True) or 0).first()
    if reply is None:
        return body
    text = desk.render_canned(reply.body, case=case, agent=request.user)
    return f"{body.rstrip()}\n\n{text}" if body.strip() else text


@org_required(SERVICE_EDIT)
@require_GET
def case_canned(request, pk):
    """htmx: the reply textarea with the chosen canned reply added to what was typed."""
    staff_only(request)
    case = sel.case_detail(organization=request.organization, pk=pk)
    body = _with_canned(request, case, request.GET.get("body", ""), request.GET.get("canned"))
    return render(request, "service/_reply_body.html", {"body": body})


@org_required(SERVICE_EDIT)
@require_POST
def case_status(request, pk):
    staff_only(request)
    case = sel.case_detail(organization=request.organization, pk=pk)
    try:
        cases.case_set_status(case=case, status=request.POST.get("status", ""),
                              actor=request.user, note=request.POST.get("note", ""),
                              version=int_param(request.POST.get("version"), positive=True))
    except StaleVersion as exc:
        return _detail_page(request, pk, status=409, error=exc.message)
    except ServiceError as exc:
        return _detail_page(request, pk, status=400, error=exc.message)
    messages.success(request, _("Status changed to %(status)s.") % {
        "status": case.get_status_display()})
    return redirect("service:case_detail", pk=case.pk)


EDIT_LINKS = ("assignee", "team", "service", "agreement", "account", "contact", "order")


def _edit_changes(request, case):
    """{field: value} of what the edit form changes (only fields that were posted)."""
    organization = request.organization
    data = request.POST
    changes = {}
    for field in ("priority", "kind", "subject", "category"):
        if field in data:
            changes[field] = data.get(field, "")
    pickers = {
        "team": sel.teams_for(organization=organization),
        "service": for_org(Service, organization),
        "agreement": for_org(Agreement, organization),
        "account": sel.accounts_for(organization=organization),
        "contact": for_org(Contact, organization),
        "order": order_selectors.orders_for(organization=organization, side="supplier"),
    }
    for field, queryset in pickers.items():
        if field in data:
            try:
                changes[field] = _pick(queryset, data.get(field))
            except ServiceError:
                raise ServiceError(_("No such record."), code="not_found", field=field) from None
    if "assignee" in data:
        raw = data.get("assignee")
        if raw in ("", None):
            changes["assignee"] = None
        else:
            agent = next((user for user in sel.agents_for(organization=organization)
                          if user.pk == int_param(raw, positive=True)), None)
            if agent is None:
                raise ServiceError(_("No such agent."), code="not_found", field="assignee")
            changes["assignee"] = agent
    return changes


@org_required(SERVICE_EDIT)
@require_POST
def case_edit(request, pk):
    """Change priority, kind, subject, category, assignee, team and links; the form sends the
    version it was rendered with, so a change someone made meanwhile answers 409."""
    staff_only(request)
    case = sel.case_detail(organization=request.organization, pk=pk)
    version = int_param(request.POST.get("version"), positive=True)
    if version is None:
        return _detail_page(request, pk, status=400, error=_("Reload the page and try again."))
    try:
        changes = _edit_changes(request, case)
        cases.case_update(case=case, actor=request.user, version=version, **changes)
    except StaleVersion as exc:
        return _detail_page(request, pk, status=409, error=exc.message)
    except ServiceError as exc:
        return _detail_page(request, pk, status=400, error=exc.message,
                            edit_errors={exc.field or "form": exc.message})
    messages.success(request, _("Case updated."))
    return redirect("service:case_detail", pk=case.pk)


# --- Merge ---------------------------------------------------------------------------------


@org_required(SERVICE_EDIT)
@require_http_methods(["GET", "POST"])
def case_merge(request, pk):
    """Merge this case (a duplicate) into another: pick a suggested open case of the same
    account, or type the other case's number."""
    staff_only(request)
    organization = request.organization
    case = sel.case_detail(organization=organization, pk=pk)
    error, status = None, 200
    if request.method == "POST":
        wanted = (request.POST.get("target_number", "").strip()
                  or request.POST.get("target", ""))
        target = sel.merge_target(organization=organization, case=case, number_or_id=wanted)
        if target is None:
            error, status = _("No such case."), 400
        elif request.POST.get("confirm"):
            try:
                cases.case_merge(source=case, target=target, actor=request.user)
            except ServiceError as exc:
                error, status = exc.message, 400
            else:
                messages.success(request, _("Case #%(source)s merged into #%(target)s.") % {
                    "source": case.number, "target": target.number})
                return redirect("service:case_detail", pk=target.pk)
        else:
            error, status = _("Confirm the merge."), 400
    return render(request, "service/case_merge.html", {
        "case": case, "candidates": sel.merge_candidates(case), "error": error,
        "target": request.POST.get("target", ""),
        "merged": case.status in cases.READ_ONLY,
    }, status=status)
