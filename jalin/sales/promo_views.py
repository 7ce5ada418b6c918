"""Sales pages for promotions (list, analysis with chart, customer segment) and segments
(list, rules editor with preview count, members with keyset pages and CSV, refresh, static
lists)."""

import csv
import json
import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.api.pagination import paginate
from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.params import int_param
from jalin.hub import promotion_selectors as hub_promotions
from jalin.hub.models import Promotion
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW, has_perm
from jalin.tenancy.services import StaleVersion, TenancyError

from . import promotion_analysis, segments
from .models import PromotionSegment, Segment, SegmentKind, SegmentMember

PER_PAGE = 50
EXPORT_LIMIT = 1_000_000
CONDITION_ROWS = 6


def _can_edit(request):
    return has_perm(request.membership, SALES_EDIT)


def _promotion(request, pk):
    try:
        return hub_promotions.promotions_for_supplier(request.organization).get(pk=int(pk))
    except (Promotion.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such promotion.") from exc


def _status(promotion, today):
    if not promotion.is_active:
        return "inactive"
    if promotion.starts_on > today:
        return "scheduled"
    return "ended" if promotion.ends_on < today else "running"


# --- Promotions ------------------------------------------------------------------------------


@org_required(SALES_VIEW)
@require_GET
def promotion_list(request):
    today = timezone.localdate()
    promotions = list(hub_promotions.promotions_for_supplier(request.organization)
                      .order_by("-starts_on", "-id")[:200])
    links = dict(PromotionSegment.objects.filter(
        organization=request.organization, promotion__in=promotions).values_list(
        "promotion_id", "segment__name"))
    rows = [(promotion, _status(promotion, today), links.get(promotion.pk))
            for promotion in promotions]
    return render(request, "sales/promotions.html", {"rows": rows})


@org_required(SALES_VIEW)
@require_GET
def promotion_detail(request, pk):
    promotion = _promotion(request, pk)
    analysis = promotion_analysis.analyse(promotion)
    link = PromotionSegment.objects.filter(promotion=promotion).select_related(
        "segment").first()
    return render(request, "sales/promotion_detail.html", {
        "promotion": promotion, "analysis": analysis, "link": link,
        "segments": for_org(Segment, request.organization).order_by("name")
        if _can_edit(request) else [],
        "can_edit": _can_edit(request),
    })


@org_required(SALES_EDIT)
@require_POST
def promotion_target(request, pk):
    promotion = _promotion(request, pk)
    value = request.POST.get("segment", "")
    if value in ("", "none"):
        if segments.promotion_untarget(promotion=promotion, actor=request.user):
            messages.success(request, _("The promotion no longer follows a segment."))
        return redirect("sales:promotion_detail", pk=promotion.pk)
    segment = get_for_org_or_404(Segment, request.organization, pk=value)
    try:
        link = segments.promotion_target_segment(promotion=promotion, segment=segment,
                                                 actor=request.user)
    except TenancyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The promotion now targets the %(count)s hub customers of "
                                    "segment %(name)s.") % {"count": link.buyer_count,
                                                            "name": segment.name})
    return redirect("sales:promotion_detail", pk=promotion.pk)


# --- Segments --------------------------------------------------------------------------------


@org_required(SALES_VIEW)
@require_GET
def segment_list(request):
    queryset = for_org(Segment, request.organization)
    try:
        page = paginate(queryset, cursor=request.GET.get("cursor") or None, limit=PER_PAGE,
                        order=("name", "id"))
    except Exception:  # noqa: BLE001 - a tampered cursor starts from the top
        page = paginate(queryset, limit=PER_PAGE, order=("name", "id"))
    return render(request, "sales/segments.html", {"page": page,
                                                   "can_edit": _can_edit(request)})


def _rules_from_post(data):
    """Rules from the form: the advanced JSON when given, else the condition rows."""
    advanced = (data.get("rules_json") or "").strip()
    if advanced:
        try:
            return json.loads(advanced)
        except ValueError:
            raise TenancyError(_("The rules are not valid JSON."), code="invalid_rules",
                               field="rules_json") from None
    conditions = []
    for index in range(CONDITION_ROWS):
        field = (data.get(f"field_{index}") or "").strip()
        if not field:
            continue
        condition = {"field": field, "op": data.get(f"op_{index}", "")}
        value = (data.get(f"value_{index}") or "").strip()
        if value:
            condition["value"] = value
        months = (data.get(f"months_{index}") or "").strip()
        if months and field in ("purchase.frequency", "purchase.monetary"):
            condition["months"] = months
        conditions.append(condition)
    return {"match": "any" if data.get("match") == "any" else "all", "conditions": conditions}


def _rows(rules, data=None):
    """Condition rows for the form: from posted data, else from flat stored rules."""
    rows = []
    flat = [c for c in (rules or {}).get("conditions", []) if "conditions" not in c]
    for index in range(CONDITION_ROWS):
        if data is not None:
            rows.append({"index": index, "field": data.get(f"field_{index}", ""),
                         "op": data.get(f"op_{index}", ""),
                         "value": data.get(f"value_{index}", ""),
                         "months": data.get(f"months_{index}", "")})
        else:
            condition = flat[index] if index < len(flat) else {}
            value = condition.get("value", "")
            rows.append({"index": index, "field": condition.get("field", ""),
                         "op": condition.get("op", ""),
                         "value": ", ".join(value) if isinstance(value, list) else value,
                         "months": condition.get("months", "")})
    return rows


def _nested(rules):
    return any("conditions" in c for c in (rules or {}).get("conditions", []))


def _form_context(request, segment, data, rules, error):
    return {
        "segment": segment, "data": data or {}, "error": error,
        "rows": _rows(rules, data if data else None),
        "match": (data or {}).get("match") or (rules or {}).get("match", "all"),
        "rules_json": (data or {}).get("rules_json")
        or (json.dumps(rules, indent=1) if _nested(rules) else ""),
        "fields": segments.field_choices(request.organization),
        "operators": list(segments.OPERATORS.items()),
        "kinds": SegmentKind.choices,
    }


@org_required(SALES_EDIT)
@require_http_methods(["GET", "POST"])
def segment_new(request):
    error, status = None, 200
    data = request.POST if request.method == "POST" else None
    if data is not None:
        try:
            kind = data.get("kind") or SegmentKind.DYNAMIC
            segment = segments.segment_create(
                organization=request.organization, actor=request.user, name=data.get("name"),
                kind=kind, rules=_rules_from_post(data) if kind == SegmentKind.DYNAMIC
                else None)
        except TenancyError as exc:
            error, status = exc, 400
        else:
            if segment.kind == SegmentKind.DYNAMIC:
                segments.segment_refresh(segment=segment, actor=request.user)
            messages.success(request, _("Segment %(name)s saved.") % {"name": segment.name})
            return redirect("sales:segment_detail", pk=segment.pk)
    return render(request, "sales/segment_form.html",
                  _form_context(request, None, data, {}, error), status=status)


@org_required(SALES_EDIT)
@require_http_methods(["GET", "POST"])
def segment_edit(request, pk):
    segment = get_for_org_or_404(Segment, request.organization, pk=pk)
    error, status = None, 200
    data = request.POST if request.method == "POST" else None
    if data is not None:
        try:
            version = int_param(data.get("version"), default=0)
            segment = segments.segment_update(
                segment=segment, actor=request.user, version=version, name=data.get("name"),
                rules=_rules_from_post(data) if segment.kind == SegmentKind.DYNAMIC else None)
        except StaleVersion as exc:
            error, status = exc, 409
        except (TenancyError, ValueError) as exc:
            error = exc if isinstance(exc, TenancyError) else TenancyError(str(exc))
            status = 400
        else:
            segments.segment_refresh(segment=segment, actor=request.user)
            messages.success(request, _("Segment %(name)s saved.") % {"name": segment.name})
            return redirect("sales:segment_detail", pk=segment.pk)
    return render(request, "sales/segment_form.html",
                  _form_context(request, segment, data, segment.rules, error), status=status)


@org_required(SALES_EDIT)
@require_POST
def segment_preview(request):
    """htmx: how many contacts the rules in the form select now."""
    try:
        count = segments.preview_count(organization=request.organization,
                                       rules=_rules_from_post(request.POST))
    except TenancyError as error:
        return render(request, "sales/_segment_preview.html", {"error": error})
    return render(request, "sales/_segment_preview.html", {"count": count})


def _members(request, segment):
    queryset = SegmentMember.objects.filter(segment=segment).select_related("contact",
                                                                            "account")
    try:
        return paginate(queryset, cursor=request.GET.get("cursor") or None, limit=PER_PAGE,
                        order=("id",))
    except Exception:  # noqa: BLE001 - a tampered cursor starts from the top
        return paginate(queryset, limit=PER_PAGE, order=("id",))


@org_required(SALES_VIEW)
@require_GET
def segment_detail(request, pk):
    segment = get_for_org_or_404(Segment, request.organization, pk=pk)
    return render(request, "sales/segment_detail.html", {
        "segment": segment, "page": _members(request, segment),
        "can_edit": _can_edit(request),
        "promotions": PromotionSegment.objects.filter(segment=segment).select_related(
            "promotion"),
    })


@org_required(SALES_VIEW)
@require_GET
def segment_export(request, pk):
    segment = get_for_org_or_404(Segment, request.organization, pk=pk)
    writer = csv.writer(Echo())
    members = (SegmentMember.objects.filter(segment=segment).order_by("id")
               .values_list("contact_id", "contact__first_name", "contact__last_name",
                            "contact__email", "account_id", "account__name"))

    def rows():
        yield "\ufeff"
        yield writer.writerow(["contact_id", "first_name", "last_name", "email", "account_id",
                               "account"])
        for row in members[:EXPORT_LIMIT].iterator(chunk_size=2000):
            yield writer.writerow([safe_cell(value) for value in row])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}.csv"'
    return response


@org_required(SALES_EDIT)
@require_POST
def segment_refresh(request, pk):
    segment = get_for_org_or_404(Segment, request.organization, pk=pk)
    refreshed = segments.segment_refresh(segment=segment, actor=request.user)
    messages.success(request, _("Segment refreshed: %(count)s members (%(added)s added, "
                                "%(removed)s removed).") % {
        "count": refreshed.member_count, "added": refreshed.added,
        "removed": refreshed.removed})
    return redirect("sales:segment_detail", pk=segment.pk)


@org_required(SALES_EDIT)
@require_POST
def segment_delete(request, pk):
    segment = get_for_org_or_404(Segment, request.organization, pk=pk)
    try:
        segments.segment_delete(segment=segment, actor=request.user)
    except TenancyError as error:
        messages.error(request, error.message)
        return redirect("sales:segment_detail", pk=segment.pk)
    messages.success(request, _("Segment deleted."))
    return redirect("sales:segments")


@org_required(SALES_EDIT)
@require_POST
def segment_members(request, pk):
    """Static lists: add contacts by e-mail address or id (one per line or comma), or remove
    one (`remove` = contact id)."""
    segment = get_for_org_or_404(Segment, request.organization, pk=pk)
    if segment.kind != SegmentKind.STATIC:
        raise PermissionDenied
    try:
        if request.POST.get("remove"):
            segments.segment_remove_contacts(segment=segment, actor=request.user,
                                             contacts=[request.POST["remove"]])
            messages.success(request, _("Contact removed from the list."))
        else:
            entries = [part for part in re.split(r"[\s,;]+", request.POST.get("contacts", ""))
                       if part][:segments.MAX_STATIC_BATCH]
            emails = [entry.lower() for entry in entries if "@" in entry]
            ids = [entry for entry in entries if "@" not in entry]
            base = segments.contacts_base(request.organization)
            found_emails = set(base.filter(email__in=emails).values_list("email", flat=True))
            missing = sorted(set(emails) - found_emails)
            if missing:
                raise TenancyError(_("No contact with these e-mail addresses: %(emails)s")
                                   % {"emails": ", ".join(missing[:10])}, field="contacts")
            ids += list(base.filter(email__in=emails).values_list("pk", flat=True))
            updated = segments.segment_add_contacts(segment=segment, actor=request.user,
                                                    contacts=ids)
            messages.success(request, _("The list has %(count)s contacts.")
                             % {"count": updated.member_count})
    except TenancyError as error:
        messages.error(request, error.message)
    return redirect("sales:segment_detail", pk=segment.pk)
