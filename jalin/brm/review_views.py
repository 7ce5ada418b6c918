"""Service review pages.

Staff (brm.view / brm.edit): reviews list (filters, keyset pages), schedule a review, the
review with its report (live while scheduled, frozen once held), hold with minutes, cancel,
PDF. Portal (buyers, service.view): the held reviews of the buyer's own account and their PDF.

Views stay thin: reads through `review_selectors`, writes through `reviews`.
"""


from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param, iso_date
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import BRM_EDIT, BRM_VIEW, SERVICE_VIEW, has_perm
from jalin.tenancy.services import StaleVersion, TenancyError

from . import review_selectors, reviews
from .models import ReviewStatus
from .review_labels import labelled
from .review_pdf import review_pdf
from .review_report import report_of

PER_PAGE = 50


@org_required(BRM_VIEW)
@require_GET
def review_list(request):
    status = request.GET.get("status") or None
    if status not in ReviewStatus.values:
        status = None
    account_id = int_param(request.GET.get("account"))
    queryset = review_selectors.reviews_for(organization=request.organization, status=status,
                                            account_id=account_id)
    return render(request, "brm/reviews.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=PER_PAGE),
        "statuses": ReviewStatus.choices, "status": status, "account_id": account_id,
        "can_edit": has_perm(request.membership, BRM_EDIT),
    })


@org_required(BRM_EDIT)
@require_http_methods(["GET", "POST"])
def review_create(request):
    organization = request.organization
    accounts = review_selectors.review_accounts(organization=organization)
    values = {"account": request.GET.get("account", ""), "scheduled_for": "",
              "period_start": "", "period_end": ""}
    error, field, status = None, None, 200
    if request.method == "POST":
        values = {key: (request.POST.get(key) or "").strip() for key in values}
        dates = {key: iso_date(values[key]) for key in ("scheduled_for", "period_start",
                                                      "period_end")}
        try:
            bad = [key for key, value in dates.items() if value is False]
            if bad:
                raise reviews.ReviewError(_("Enter dates as YYYY-MM-DD."), field=bad[0])
            if dates["scheduled_for"] is None:
                raise reviews.ReviewError(_("Choose the date of the review."),
                                          field="scheduled_for")
            account = reviews.account_for(organization=organization,
                                          account_id=int_param(values["account"]))
            review = reviews.review_create(
                organization=organization, account=account, actor=request.user,
                scheduled_for=dates["scheduled_for"], period_start=dates["period_start"],
                period_end=dates["period_end"])
        except reviews.ReviewError as exc:
            error, field, status = exc.message, exc.field, 400
        else:
            messages.success(request, _("Service review scheduled."))
            return redirect("brm:review_detail", pk=review.pk)
    return render(request, "brm/review_form.html", {
        "accounts": accounts, "values": values, "error": error, "error_field": field,
    }, status=status)


def _detail_context(request, review, *, portal=False):
    return {
        "review": review, "report": labelled(report_of(review)), "portal": portal,
        "can_edit": (not portal and review.status == ReviewStatus.SCHEDULED
                     and has_perm(request.membership, BRM_EDIT)),
    }


@org_required(BRM_VIEW)
@require_GET
def review_detail(request, pk):
    review = review_selectors.review_detail(organization=request.organization, pk=pk)
    return render(request, "brm/review_detail.html", _detail_context(request, review))


def _transition(request, pk, action):
    review = review_selectors.review_detail(organization=request.organization, pk=pk)
    version = int_param(request.POST.get("version"))
    try:
        if action == "hold":
            reviews.review_hold(review=review, actor=request.user, version=version,
                                minutes=request.POST.get("minutes", ""))
            messages.success(request, _("Review held; its report is now frozen."))
        else:
            reviews.review_cancel(review=review, actor=request.user, version=version,
                                  reason=request.POST.get("reason", ""))
            messages.success(request, _("Review cancelled."))
    except TenancyError as exc:
        context = _detail_context(request, review)
        context.update(error=exc.message, minutes=request.POST.get("minutes", ""))
        return render(request, "brm/review_detail.html", context,
                      status=409 if isinstance(exc, StaleVersion) or exc.code == "state"
                      else 400)
    return redirect("brm:review_detail", pk=review.pk)


@org_required(BRM_EDIT)
@require_POST
def review_hold(request, pk):
    return _transition(request, pk, "hold")


@org_required(BRM_EDIT)
@require_POST
def review_cancel(request, pk):
    return _transition(request, pk, "cancel")


def _pdf_response(review, *, supplier_name):
    data = review_pdf(review=review, report=report_of(review), supplier_name=supplier_name)
    response = HttpResponse(data, content_type="application/pdf")
    name = f"service-review-{review.scheduled_for.isoformat()}-{review.pk}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@org_required(BRM_VIEW)
@require_GET
def review_pdf_view(request, pk):
    review = review_selectors.review_detail(organization=request.organization, pk=pk)
    return _pdf_response(review, supplier_name=request.organization.name)


# --- Portal (buyers) -----------------------------------------------------------------------


@org_required(SERVICE_VIEW)
@require_GET
def portal_review_list(request):
    queryset = review_selectors.buyer_reviews_for(buyer=request.organization)
    return render(request, "brm/portal_reviews.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=PER_PAGE),
    })


@org_required(SERVICE_VIEW)
@require_GET
def portal_review_detail(request, pk):
    review = review_selectors.buyer_review_detail(buyer=request.organization, pk=pk)
    return render(request, "brm/review_detail.html",
                  _detail_context(request, review, portal=True))


@org_required(SERVICE_VIEW)
@require_GET
def portal_review_pdf(request, pk):
    review = review_selectors.buyer_review_detail(buyer=request.organization, pk=pk)
    return _pdf_response(review, supplier_name=review.organization.name)
