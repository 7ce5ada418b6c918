"""Pages for satisfaction surveys.

Staff (the supplier): surveys with their settings, a dashboard per survey and overall (trend
by month with a chart and the same numbers in a table, counts, breakdown by account; every
number links to the answers it counts), the answers list (filters, keyset pages, CSV) and a
manual send to an account.

Customers: the public answer page ``/service/s/<token>/`` (the token is the credential, no
sign-in) and the portal (``/service/my/surveys/``: the buyer organization's invitations,
answered inside the portal).

Views stay thin: reads through `survey_selectors`, writes through `surveys`.
"""

import csv
import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.charts import chart_config
from jalin.core.csv_cells import Echo, safe_cell
from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SERVICE_EDIT, SERVICE_VIEW, has_perm
from jalin.tenancy.services import StaleVersion

from . import survey_selectors as selectors
from . import surveys
from .models import InvitationStatus, Survey, SurveyKind, SurveyTrigger

PER_PAGE = 50
EXPORT_LIMIT = 50_000
ERROR_STATUS = {"forbidden": 403, "self_rating": 403, "not_found": 404,
                "already_answered": 409, "expired": 410, "cancelled": 410, "stale": 409}


def _date(value):
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        return None


def _bool(value):
    return {"1": True, "0": False}.get(str(value or "").strip())


def _staff_only(request):
    """Survey administration belongs to suppliers; a buyer-only organization goes to its
    portal instead."""
    return None if request.organization.is_supplier else redirect("service:survey_portal_list")


def _can_edit(request):
    return has_perm(request.membership, SERVICE_EDIT)


# --- Survey settings -----------------------------------------------------------------------


def _form_values(post):
    return {
        "name": post.get("name", ""), "kind": post.get("kind", ""),
        "question": post.get("question", ""), "trigger": post.get("trigger", ""),
        "good_threshold": post.get("good_threshold", "").strip(),
        "follow_up_at_or_below": post.get("follow_up_at_or_below", "").strip() or None,
        "follow_up_on_comment": post.get("follow_up_on_comment") == "on",
        "invitation_valid_days": post.get("invitation_valid_days", "").strip(),
        "period_days": post.get("period_days", "").strip() or None,
        "is_active": post.get("is_active") == "on",
    }


def _form_page(request, *, survey=None, values=None, error=None, status=200):
    if values is None:
        values = ({field: getattr(survey, field) for field in surveys.EDITABLE_FIELDS}
                  if survey is not None else {"invitation_valid_days": 14, "is_active": True})
    return render(request, "service/surveys/form.html", {
        "survey": survey, "values": values, "error": error,
        "kinds": SurveyKind.choices, "triggers": SurveyTrigger.choices,
        "scales": [(kind, label, *Survey(kind=kind).scale) for kind, label in
                   SurveyKind.choices],
    }, status=status)


@org_required(SERVICE_VIEW)
@require_GET
def survey_list(request):
    if (response := _staff_only(request)) is not None:
        return response
    rows = list(selectors.surveys_for(organization=request.organization))
    return render(request, "service/surveys/list.html", {
        "surveys": rows, "can_edit": _can_edit(request)})


@org_required(SERVICE_EDIT)
@require_http_methods(["GET", "POST"])
def survey_create(request):
    if (response := _staff_only(request)) is not None:
        return response
    if request.method == "GET":
        return _form_page(request)
    values = _form_values(request.POST)
    try:
        survey = surveys.survey_create(organization=request.organization, actor=request.user,
                                       **values)
    except surveys.SurveyError as exc:
        return _form_page(request, values=values, error=exc, status=400)
    messages.success(request, _("Survey %(name)s created.") % {"name": survey.name})
    return redirect("service:survey_detail", pk=survey.pk)


@org_required(SERVICE_EDIT)
@require_http_methods(["GET", "POST"])
def survey_edit(request, pk):
    survey = selectors.survey_detail(organization=request.organization, pk=pk)
    if request.method == "GET":
        return _form_page(request, survey=survey)
    values = _form_values(request.POST)
    try:
        survey = surveys.survey_update(survey=survey, actor=request.user,
                                       version=int_param(request.POST.get("version"), default=0),
                                       **values)
    except StaleVersion as exc:
        return _form_page(request, survey=survey, values=values, error=exc, status=409)
    except surveys.SurveyError as exc:
        return _form_page(request, survey=survey, values=values, error=exc, status=400)
    messages.success(request, _("Survey saved."))
    return redirect("service:survey_detail", pk=survey.pk)


# --- Dashboards ----------------------------------------------------------------------------


def _answers_url(pairs):
    return reverse("service:survey_answers") + "?" + urlencode(pairs)


def _row(bucket):
    """A dashboard row: the numbers and the answers list behind each of them."""
    return {
        "label": bucket.label, "key": bucket.key, "sent": bucket.sent,
        "answered": bucket.answered, "expired": bucket.expired,
        "answers": bucket.answers(), "response_rate": bucket.response_rate,
        "csat": bucket.csat, "csat_answers": bucket.answers(SurveyKind.CSAT),
        "nps": bucket.nps, "nps_answers": bucket.answers(SurveyKind.NPS),
        "ces": bucket.ces, "ces_answers": bucket.answers(SurveyKind.CES),
        "links": {
            "answers": _answers_url(bucket.link()),
            "csat": _answers_url(bucket.link(kind=SurveyKind.CSAT)),
            "csat_good": _answers_url(bucket.link(kind=SurveyKind.CSAT, good="1")),
            "nps": _answers_url(bucket.link(kind=SurveyKind.NPS)),
            "promoters": _answers_url(bucket.link(kind=SurveyKind.NPS, score_min=9)),
            "detractors": _answers_url(bucket.link(kind=SurveyKind.NPS, score_max=6)),
            "ces": _answers_url(bucket.link(kind=SurveyKind.CES)),
        },
    }


def _dashboard_context(request, *, survey=None):
    months = int_param(request.GET.get("months"), default=12) or 12
    months = max(1, min(months, selectors.MAX_MONTHS))
    account_id = int_param(request.GET.get("account"))
    data = selectors.dashboard(organization=request.organization, survey=survey,
                               account_id=account_id, months=months)
    rows = [_row(bucket) for bucket in data.by_month]
    labels = [row["label"] for row in rows]
    series = []
    if SurveyKind.CSAT in data.kinds:
        series.append((_("CSAT %"), [row["csat"] for row in rows]))
    if SurveyKind.NPS in data.kinds:
        series.append((_("NPS"), [row["nps"] for row in rows]))
    series.append((_("Response rate %"), [row["response_rate"] for row in rows]))
    score_chart = chart_config(kind="line", labels=labels, series=series, y_title=_("Percent"))
    effort_chart = None
    if SurveyKind.CES in data.kinds:
        effort_chart = chart_config(kind="line", labels=labels,
                                    series=[(_("CES (mean, 1–7)"), [r["ces"] for r in rows])],
                                    y_title=_("CES"), y_max=7)
    return {
        "data": data, "total": _row(data.total), "month_rows": rows,
        "account_rows": [_row(bucket) for bucket in data.by_account],
        "kinds": data.kinds, "months": months, "account_id": account_id,
        "score_chart": score_chart, "effort_chart": effort_chart,
        "month_choices": (3, 6, 12, 24, 36),
    }


@org_required(SERVICE_VIEW)
@require_GET
def survey_dashboard(request):
    if (response := _staff_only(request)) is not None:
        return response
    return render(request, "service/surveys/dashboard.html", {
        **_dashboard_context(request), "surveys": selectors.surveys_for(
            organization=request.organization)})


@org_required(SERVICE_VIEW)
@require_GET
def survey_detail(request, pk):
    survey = selectors.survey_detail(organization=request.organization, pk=pk)
    invitations = selectors.invitations_for(organization=request.organization,
                                            survey_id=survey.pk)
    send_accounts = []
    if _can_edit(request) and survey.is_active:
        send_accounts = list(selectors.sendable_accounts(organization=request.organization)
                             .values_list("pk", "name")[:500])
    return render(request, "service/surveys/detail.html", {
        "survey": survey, **_dashboard_context(request, survey=survey),
        "send_accounts": send_accounts,
        "page": keyset_paginate(invitations, request.GET, per_page=PER_PAGE),
        "can_edit": _can_edit(request),
    })


@org_required(SERVICE_EDIT)
@require_POST
def survey_send(request, pk):
    from jalin.crm.models import Account, Contact

    survey = selectors.survey_detail(organization=request.organization, pk=pk)
    account = get_for_org_or_404(Account, request.organization,
                                 pk=int_param(request.POST.get("account"), default=0))
    contact = None
    if request.POST.get("contact"):
        contact = get_for_org_or_404(Contact, request.organization,
                                     pk=int_param(request.POST.get("contact"), default=0))
    try:
        invitation, _token = surveys.invitation_send_manual(
            survey=survey, account=account, contact=contact, actor=request.user,
            base_url=request.build_absolute_uri("/").rstrip("/"))
    except surveys.SurveyError as exc:
        messages.error(request, exc.message)
        return redirect("service:survey_detail", pk=survey.pk)
    messages.success(request, _("Survey sent to %(account)s.") % {"account": account.name})
    return redirect("service:survey_detail", pk=survey.pk)


# --- Answers -------------------------------------------------------------------------------


def _answer_filters(params):
    kind = params.get("kind") or None
    return selectors.AnswerFilters(
        survey_id=int_param(params.get("survey")), kind=kind if kind in SurveyKind.values else None,
        account_id=int_param(params.get("account")), date_from=_date(params.get("from")),
        date_to=_date(params.get("to")), score_min=int_param(params.get("score_min")),
        score_max=int_param(params.get("score_max")), good=_bool(params.get("good")),
        follow_up=_bool(params.get("follow_up")))


@org_required(SERVICE_VIEW)
@require_GET
def answer_list(request):
    if (response := _staff_only(request)) is not None:
        return response
    filters = _answer_filters(request.GET)
    queryset = selectors.responses_for(organization=request.organization, filters=filters)
    account = None
    if filters.account_id is not None:
        from jalin.crm.models import Account

        account = get_for_org_or_404(Account, request.organization, pk=filters.account_id)
    return render(request, "service/surveys/answers.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=PER_PAGE),
        "filters": filters, "account": account, "kinds": SurveyKind.choices,
        "surveys": selectors.surveys_for(organization=request.organization),
        "export_query": urlencode(filters.as_query()),
        "is_filtered": bool(filters.as_query()),
    })


@org_required(SERVICE_VIEW)
@require_GET
def answer_export(request):
    """The filtered answers as CSV (newest first, at most EXPORT_LIMIT rows), streamed."""
    if (response := _staff_only(request)) is not None:
        return response
    queryset = selectors.responses_for(organization=request.organization,
                                       filters=_answer_filters(request.GET))
    writer = csv.writer(Echo())
    header = ["id", "answered_at", "survey", "kind", "score", "normalized", "good", "comment",
              "account", "case_number", "follow_up_case_number"]

    def rows():
        yield "\ufeff"
        yield writer.writerow(header)
        for item in queryset.order_by("-id")[:EXPORT_LIMIT].iterator(chunk_size=500):
            yield writer.writerow([safe_cell(value) for value in (
                item.pk, timezone.localtime(item.created_at).isoformat(), item.survey.name,
                item.survey.kind, item.score, item.normalized, int(item.good), item.comment,
                item.account.name if item.account else "",
                item.case.number if item.case else "",
                item.follow_up_case.number if item.follow_up_case else "")])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="survey-answers.csv"'
    return response


# --- Answering (public link and portal) ----------------------------------------------------


def _answer_page(request, invitation, *, action, status=200, error=None, values=None,
                 portal=False):
    survey = invitation.survey
    state = surveys.invitation_state(invitation)
    refused = state == "open" and surveys.handled_case(request.user, invitation.case)
    if refused and status == 200:
        status = 403
    if status == 200 and state in ("expired", "cancelled"):
        status = 410
    low, high = survey.scale
    values = values or {}
    return render(request, "service/surveys/answer.html", {
        "invitation": invitation, "survey": survey, "supplier": survey.organization,
        "state": state, "refused": refused, "error": error, "action": action,
        "scores": list(range(low, high + 1)), "low": low, "high": high,
        "chosen": values.get("score"), "comment": values.get("comment", ""),
        "thanks": request.GET.get("thanks") == "1", "portal": portal,
    }, status=status)


def _answer(request, invitation, *, action, done_url, portal=False):
    if request.method == "GET":
        return _answer_page(request, invitation, action=action, portal=portal)
    values = {"score": request.POST.get("score", ""), "comment": request.POST.get("comment", "")}
    try:
        surveys.survey_answer(invitation=invitation, score=values["score"],
                              comment=values["comment"], user=request.user)
    except surveys.SurveyError as exc:
        if exc.code == "already_answered":
            # A double click or a second tab: show the answered page (its GET), not an error.
            return redirect(done_url)
        invitation.refresh_from_db()
        return _answer_page(request, invitation, action=action, error=exc, values=values,
                            status=ERROR_STATUS.get(exc.code, 400), portal=portal)
    return redirect(done_url + "?thanks=1")


@require_http_methods(["GET", "POST"])
def survey_answer_public(request, token):
    invitation = surveys.invitation_by_token(token)
    if invitation is None:
        return render(request, "service/surveys/answer_missing.html", status=404)
    path = request.path
    return _answer(request, invitation, action=path, done_url=path)


@org_required(SERVICE_VIEW)
@require_GET
def survey_portal_list(request):
    invitations = selectors.portal_invitations(buyer=request.organization)
    now = timezone.now()
    open_ones = list(invitations.filter(status=InvitationStatus.SENT, expires_at__gte=now)
                     .order_by("expires_at", "pk")[:100])
    past = invitations.exclude(pk__in=[item.pk for item in open_ones])
    return render(request, "service/surveys/portal_list.html", {
        "open_invitations": open_ones,
        "page": keyset_paginate(past, request.GET, per_page=PER_PAGE),
    })


@org_required(SERVICE_VIEW)
@require_http_methods(["GET", "POST"])
def survey_portal_answer(request, pk):
    invitation = selectors.portal_invitation(buyer=request.organization, pk=pk)
    path = reverse("service:survey_portal_answer", kwargs={"pk": invitation.pk})
    return _answer(request, invitation, action=path, done_url=path, portal=True)
