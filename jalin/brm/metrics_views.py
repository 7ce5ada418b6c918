"""BRM metrics dashboard: the period's figures overall and per customer, their definitions,
trend charts (with the same numbers as tables) and a CSV export. Each figure links to the
records behind it where a list of them exists. Referrals: list and record."""

import csv

from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from jalin.core.charts import chart_config
from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param, iso_date
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import BRM_EDIT, BRM_VIEW, has_perm

from . import metrics, referrals, review_selectors
from .models import ImprovementSource
from .periods import MONTH, PERIOD_KINDS, last_periods, parse_period

TREND_PERIODS = 6


def read_params(request_params, organization):
    """(period, account_id) from ?period=month|quarter&on=2026-11|2026-Q4|date&account=id;
    ValueError names what is wrong."""
    kind = request_params.get("period") or MONTH
    if kind not in PERIOD_KINDS:
        raise ValueError(_("Choose month or quarter."))
    try:
        period = parse_period(kind, request_params.get("on", ""), organization=organization)
    except (ValueError, TypeError, IndexError) as exc:
        raise ValueError(_("Enter the period as 2026-11, 2026-Q4 or a date.")) from exc
    raw_account = request_params.get("account") or ""
    account_id = int_param(raw_account) if raw_account else None
    if raw_account and account_id is None:
        raise ValueError(_("Choose one of your customers."))
    return period, account_id


def _url(name, args=(), **query):
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    query = {key: value for key, value in query.items() if value not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def record_links(period, account_id):
    """Where the records behind each figure are listed (only lists that exist)."""
    account = account_id or ""
    dates = {"from": period.first.isoformat(), "to": period.last.isoformat()}
    return {
        "customers": _url("brm:portfolio") or _url("brm:home"),
        "requirements": _url("brm:requirements", account=account),
        "changes": _url("brm:changes", account=account, **dates),
        "opportunities": _url("brm:opportunities", account=account),
        "sla": _url("service:sla_report", account=account, **dates),
        "satisfaction": _url("service:survey_dashboard", account=account, **dates),
        "referrals": _url("brm:referrals", referrer=account, **dates),
        "improvements": _url("brm:improvements", account=account, **dates),
        "reviews": _url("brm:reviews", account=account),
    }


def _summary(overall, links):
    """(key, label, value, unit, link) rows of the summary table."""
    seen = {}

    def row(key, label, value, unit="", link=""):
        # `id` is unique per row (several rows share one definition `key`).
        seen[key] = seen.get(key, 0) + 1
        row_id = key if seen[key] == 1 else f"{key}-{seen[key]}"
        return {"key": key, "id": row_id, "label": label, "value": value, "unit": unit,
                "link": link}

    return [
        row("customers", _("Customers"), overall["customers"], link=links["customers"]),
        row("objectives_documented", _("With documented objectives"),
            overall["objectives_documented_share"], "%", links["customers"]),
        row("objectives_agreed", _("With customer-agreed objectives"),
            overall["objectives_agreed_share"], "%", links["customers"]),
        row("requirements_signed_off", _("Requirements signed off"),
            overall["requirements_signed_off"], link=links["requirements"]),
        row("business_cases_signed_off", _("Business cases signed off"),
            overall["business_cases_signed_off"], link=links["requirements"]),
        row("signoff_share", _("Submitted requirements signed off"),
            overall["signoff_share"], "%", links["requirements"]),
        row("changes_identified", _("Changes identified"), overall["changes_identified"],
            link=links["changes"]),
        row("changes_with_response", _("Changes with a documented response"),
            overall["changes_response_share"], "%", links["changes"]),
        row("change_response_hours", _("Response time, mean (hours)"),
            overall["change_response_mean_hours"], link=links["changes"]),
        row("change_response_hours", _("Response time, median (hours)"),
            overall["change_response_median_hours"], link=links["changes"]),
        row("opportunities", _("Opportunities identified"),
            overall["opportunities_identified"], link=links["opportunities"]),
        row("opportunities", _("Opportunities assessed with the customer"),
            overall["opportunities_assessed"], link=links["opportunities"]),
        row("opportunities", _("Opportunities recorded in the service portfolio"),
            overall["opportunities_recorded"], link=links["opportunities"]),
        row("sla_attainment", _("SLA attainment"), overall["sla_attainment_percent"], "%",
            links["sla"]),
        row("csat", _("CSAT"), overall["csat_percent"], "%", links["satisfaction"]),
        row("nps", _("NPS"), overall["nps"], link=links["satisfaction"]),
        row("response_rate", _("Survey response rate"), overall["response_rate"], "%",
            links["satisfaction"]),
        row("repeat_business", _("Repeat business rate"), overall["repeat_business_rate"],
            "%"),
        row("referrals", _("Referrals"), overall["referrals"], link=links["referrals"]),
        row("improvements_raised", _("Improvements raised from feedback"),
            overall["improvements_from_feedback"], link=links["improvements"]),
        row("improvements_raised", _("Improvements raised (all sources)"),
            overall["improvements_raised"], link=links["improvements"]),
        row("improvements_completed", _("Improvements completed"),
            overall["improvements_completed"], link=links["improvements"]),
    ]


@org_required(BRM_VIEW)
@require_GET
def metrics_page(request):
    organization = request.organization
    try:
        period, account_id = read_params(request.GET, organization)
    except ValueError as exc:
        period, account_id = parse_period(MONTH, "", organization=organization), None
        error, status = str(exc), 400
    else:
        error, status = None, 200
    data = metrics.brm_metrics(organization=organization, period=period,
                               account_id=account_id)
    periods = last_periods(period, TREND_PERIODS)
    trend = metrics.trend(organization=organization, periods=periods, account_id=account_id)
    labels = [row["label"] for row in trend]
    quality_chart = chart_config(kind="line", labels=labels, series=[
        (_("SLA attainment %"), [row["sla_attainment_percent"] for row in trend]),
        (_("CSAT %"), [row["csat_percent"] for row in trend]),
        (_("NPS"), [row["nps"] for row in trend]),
    ], y_title=_("Percent / score"))
    improvement_chart = chart_config(kind="bar", labels=labels, series=[
        (_("Raised"), [row["improvements_raised"] for row in trend]),
        (_("Completed"), [row["improvements_completed"] for row in trend]),
    ], y_title=_("Improvements"))
    links = record_links(period, account_id)
    current = parse_period(period.kind, "", organization=organization)
    choices = list(reversed(last_periods(current, 12)))
    if period not in choices:
        choices.insert(0, period)
    return render(request, "brm/metrics.html", {
        "data": data, "overall": data["overall"], "customers": data["customers"],
        "summary": _summary(data["overall"], links), "definitions": data["definitions"],
        "period": period, "period_kind": period.kind, "period_choices": choices,
        "account_id": account_id, "accounts": review_selectors.review_accounts(
            organization=organization),
        "trend": trend, "quality_chart": quality_chart, "improvement_chart": improvement_chart,
        "links": links, "error": error,
        "sources": [(str(ImprovementSource(source).label), count) for source, count
                    in data["overall"]["improvements_by_source"].items()],
        "export_query": urlencode({"period": period.kind, "on": period.key,
                                   **({"account": account_id} if account_id else {})}),
    }, status=status)


CSV_COLUMNS = (
    "account_id", "name", "objectives_documented", "objectives_agreed",
    "requirements_submitted", "requirements_approved", "requirements_signed_off",
    "business_cases_signed_off", "signoff_share", "changes_identified",
    "changes_with_response", "changes_response_share", "change_response_mean_hours",
    "change_response_median_hours", "opportunities_identified", "opportunities_assessed",
    "opportunities_recorded", "sla_total", "sla_achieved", "sla_breached",
    "sla_attainment_percent", "csat_answers", "csat_percent", "nps_answers", "nps", "ces",
    "invitations_sent", "invitations_answered", "response_rate", "ordered", "repeat",
    "referrals", "improvements_raised", "improvements_from_feedback",
    "improvements_completed",
)


@org_required(BRM_VIEW)
@require_GET
def metrics_export(request):
    try:
        period, account_id = read_params(request.GET, request.organization)
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    data = metrics.brm_metrics(organization=request.organization, period=period,
                               account_id=account_id)
    writer = csv.writer(Echo())
    overall = {**data["overall"], "account_id": "", "name": _("All customers")}

    def rows():
        yield "\ufeff"
        yield writer.writerow(["period", *CSV_COLUMNS])
        for row in [*data["customers"], overall]:
            yield writer.writerow([safe_cell(data["period"]["key"]),
                                   *[safe_cell("" if row.get(column) is None
                                               else row.get(column)) for column in CSV_COLUMNS]])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = \
        f'attachment; filename="brm-metrics-{data["period"]["key"]}.csv"'
    return response


# --- Referrals -----------------------------------------------------------------------------


@org_required(BRM_VIEW)
@require_http_methods(["GET", "POST"])
def referral_list(request):
    organization = request.organization
    can_edit = has_perm(request.membership, BRM_EDIT)
    values = {"referrer": request.GET.get("referrer", ""), "referred_account": "",
              "referred_name": "", "referred_on": "", "note": ""}
    error, field, status = None, None, 200
    if request.method == "POST":
        if not can_edit:
            return HttpResponse(status=403)
        values = {key: (request.POST.get(key) or "").strip() for key in values}
        referred_on = iso_date(values["referred_on"])
        try:
            if referred_on is False:
                raise referrals.ReferralError(_("Enter the date as YYYY-MM-DD."),
                                              field="referred_on")
            referrals.referral_create(
                organization=organization, actor=request.user,
                referrer_id=int_param(values["referrer"]) if values["referrer"] else None,
                referred_account_id=(int_param(values["referred_account"])
                                     if values["referred_account"] else None),
                referred_name=values["referred_name"], referred_on=referred_on,
                note=values["note"])
        except referrals.ReferralError as exc:
            error, field, status = exc.message, exc.field, 400
        else:
            messages.success(request, _("Referral recorded."))
            return redirect("brm:referrals")
    first, last = iso_date(request.GET.get("from")), iso_date(request.GET.get("to"))
    queryset = referrals.referrals_for(
        organization=organization, referrer_id=int_param(request.GET.get("referrer")),
        first=first or None, last=last or None)
    return render(request, "brm/referrals.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=50),
        "accounts": review_selectors.review_accounts(organization=organization),
        "values": values, "error": error, "error_field": field, "can_edit": can_edit,
    }, status=status)
