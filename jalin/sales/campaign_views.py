"""Sales pages for campaigns: list, new/edit with variants, detail with delivery progress and
per-variant counts, launch/cancel/resume; the public tracking endpoints (open pixel, click
redirect, unsubscribe page with RFC 8058 one-click POST) and the buyer portal's offers."""

import base64

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.api.pagination import paginate
from jalin.core.models import Event
from jalin.core.params import int_param
from jalin.hub.models import Promotion
from jalin.service.portal_views import buyer_only
from jalin.tenancy.access import for_org, get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SALES_EDIT, SALES_VIEW, SERVICE_VIEW, has_perm
from jalin.tenancy.services import StaleVersion, TenancyError

from . import campaigns
from .lead_views import _errors
from .models import (
    Campaign,
    CampaignChannel,
    CampaignStatus,
    CampaignVariant,
    PrimaryMetric,
    Segment,
)

PER_PAGE = 50
# A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
CAMPAIGN_INPUTS = ("name", "channel", "segment", "promotion", "holdout_percent",
                   "primary_metric", "attribution_days", "baseline_rate",
                   "minimum_detectable_effect", "budget")
NEW_VARIANT_ROWS = 2


def _campaign(request, pk):
    return get_for_org_or_404(Campaign.objects.select_related("segment", "promotion", "owner"),
                              request.organization, pk=pk)


def _choices(organization):
    return {
        "segments": list(for_org(Segment, organization).order_by("name")[:500]),
        "promotions": list(Promotion.objects.filter(supplier=organization, is_active=True)
                           .order_by("-starts_on", "name")[:200]),
        "channels": CampaignChannel.choices,
        "metrics": PrimaryMetric.choices,
    }


# --- List ----------------------------------------------------------------------------------


@org_required(SALES_VIEW)
@require_GET
def campaign_list(request):
    queryset = for_org(Campaign, request.organization).select_related("segment")
    status = request.GET.get("status", "")
    if status in CampaignStatus.values:
        queryset = queryset.filter(status=status)
    try:
        page = paginate(queryset, cursor=request.GET.get("cursor") or None, limit=PER_PAGE,
                        order=("-id",))
    except Exception:  # noqa: BLE001 - a tampered cursor starts from the top
        page = paginate(queryset, limit=PER_PAGE, order=("-id",))
    return render(request, "sales/campaigns.html", {
        "page": page, "status": status, "statuses": CampaignStatus.choices,
        "can_edit": has_perm(request.membership, SALES_EDIT),
    })


# --- New / edit ----------------------------------------------------------------------------


def _campaign_values(data):
    values = {name: data.get(name, "") for name in CAMPAIGN_INPUTS}
    values["segment"] = values["segment"] or None
    values["promotion"] = values["promotion"] or None
    values["attribution_days"] = int_param(values["attribution_days"]) or 0
    return values


@org_required(SALES_EDIT)
@require_http_methods(["GET", "POST"])
def campaign_new(request):
    organization = request.organization
    data = request.POST if request.method == "POST" else {}
    errors, status = {}, 200
    rows = [{"name": data.get(f"variant_{i}_name", chr(65 + i) if not data else ""),
             "weight": data.get(f"variant_{i}_weight", "1"),
             "subject": data.get(f"variant_{i}_subject", ""),
             "body": data.get(f"variant_{i}_body", ""),
             "offer_url": data.get(f"variant_{i}_offer_url", ""), "index": i}
            for i in range(NEW_VARIANT_ROWS)]
    if request.method == "POST":
        variants = [{key: row[key] for key in campaigns.VARIANT_FIELDS}
                    for row in rows if row["name"].strip() or row["subject"].strip()
                    or row["body"].strip()]
        try:
            campaign = campaigns.campaign_create(
                organization=organization, actor=request.user, variants=variants or None,
                **_campaign_values(data))
        except (ValidationError, TenancyError) as exc:
            errors, status = _errors(exc), 400
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("sales:campaign_detail", pk=campaign.pk)
    values = data or {"channel": CampaignChannel.EMAIL, "holdout_percent": "0",
                      "primary_metric": PrimaryMetric.CONVERSION, "attribution_days": "30"}
    return render(request, "sales/campaign_form.html", {
        "campaign": None, "values": values, "errors": errors, "rows": rows,
        **_choices(organization)}, status=status)


@org_required(SALES_EDIT)
@require_http_methods(["GET", "POST"])
def campaign_edit(request, pk):
    campaign = _campaign(request, pk)
    if campaign.status != CampaignStatus.DRAFT:
        messages.error(request, _("Only a draft campaign can be changed."))
        return redirect("sales:campaign_detail", pk=campaign.pk)
    errors, status = {}, 200
    data = request.POST
    if request.method == "POST":
        action = data.get("action", "campaign")
        try:
            if action == "campaign":
                campaigns.campaign_update(campaign=campaign, actor=request.user,
                                          version=int_param(data.get("version")),
                                          **_campaign_values(data))
            elif action == "variant_add":
                campaigns.variant_add(campaign=campaign, actor=request.user,
                                      **{key: data.get(key, "")
                                         for key in campaigns.VARIANT_FIELDS})
            elif action in ("variant_save", "variant_remove"):
                variant = get_for_org_or_404(CampaignVariant, request.organization,
                                             pk=int_param(data.get("variant")),
                                             campaign=campaign)
                if action == "variant_remove":
                    campaigns.variant_remove(variant=variant, actor=request.user)
                else:
                    campaigns.variant_update(variant=variant, actor=request.user,
                                             **{key: data.get(key, "")
                                                for key in campaigns.VARIANT_FIELDS})
            else:
                raise ValidationError({"form": [_("Unknown form.")]})
        except StaleVersion as exc:
            errors, status = {"form": exc.message}, 409
        except (ValidationError, TenancyError) as exc:
            errors, status = _errors(exc), 400
            errors["action"] = action
            errors["variant_id"] = int_param(data.get("variant"))
        else:
            messages.success(request, _("Saved."))
            return redirect("sales:campaign_edit", pk=campaign.pk)
        campaign.refresh_from_db()
    values = data if request.method == "POST" and data.get("action") == "campaign" else {
        "name": campaign.name, "channel": campaign.channel, "segment": campaign.segment_id,
        "promotion": campaign.promotion_id, "holdout_percent": campaign.holdout_percent,
        "primary_metric": campaign.primary_metric,
        "attribution_days": campaign.attribution_days,
        "baseline_rate": campaign.baseline_rate if campaign.baseline_rate is not None else "",
        "minimum_detectable_effect": (campaign.minimum_detectable_effect
                                      if campaign.minimum_detectable_effect is not None else ""),
        "budget": campaign.budget if campaign.budget is not None else ""}
    return render(request, "sales/campaign_form.html", {
        "campaign": campaign, "values": values, "errors": errors,
        "variants": list(campaign.variants.order_by("id")), **_choices(request.organization)},
        status=status)


# --- Detail and actions --------------------------------------------------------------------


def _detail_context(request, campaign):
    variants = list(campaign.variants.order_by("id"))
    counts = campaigns.variant_counts(campaign)
    empty = {"recipients": 0, "skipped": 0, "sent": 0, "opened": 0, "clicked": 0,
             "replied": 0, "unsubscribed": 0}
    rows = [(variant.name, counts.get(variant.pk, empty)) for variant in variants]
    if None in counts or campaign.holdout_percent:
        rows.append((_("Holdout (gets nothing)"), counts.get(None, empty)))
    labels = campaigns.skip_reason_labels()
    return {
        "campaign": campaign, "variants": variants, "rows": rows,
        "progress": campaigns.campaign_progress(campaign),
        "skipped": [(labels.get(reason, reason), n)
                    for reason, n in campaigns.skipped_counts(campaign).items()],
        "history": list(Event.objects.filter(organization=request.organization,
                                             aggregate_type="sales.campaign",
                                             aggregate_id=str(campaign.pk))
                        .order_by("-id")[:50]),
        "can_edit": has_perm(request.membership, SALES_EDIT),
        "running": _running(campaign),
        "schedule_value": _local_input(campaign.scheduled_at),
        "schedule_min": _local_input(timezone.now()),
    }


def _running(campaign):
    """Whether the progress section keeps polling: preparing or sending, not stopped."""
    return campaign.status in campaigns.ACTIVE and not campaign.send_error


def _local_input(moment):
    """A datetime-local input's value in the current time zone."""
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@org_required(SALES_VIEW)
@require_GET
def campaign_detail(request, pk):
    campaign = _campaign(request, pk)
    return render(request, "sales/campaign_detail.html", _detail_context(request, campaign))


@org_required(SALES_VIEW)
@require_GET
def campaign_progress(request, pk):
    """The progress section alone (htmx polls it while the campaign prepares or sends; the
    status badge is swapped out of band, and polling stops once it is done)."""
    campaign = _campaign(request, pk)
    return render(request, "sales/_campaign_progress.html", {
        "campaign": campaign, "progress": campaigns.campaign_progress(campaign),
        "running": _running(campaign), "oob_status": True})


def _action(request, pk, func, success):
    campaign = _campaign(request, pk)
    try:
        func(campaign)
    except StaleVersion as exc:
        messages.error(request, exc.message)
        return redirect("sales:campaign_detail", pk=campaign.pk)
    except (ValidationError, TenancyError) as exc:
        context = _detail_context(request, campaign)
        errors = _errors(exc)
        context["error"] = " ".join(errors.values())
        context["error_field"] = next(iter(errors), "")
        code = 409 if getattr(exc, "code", "") in ("already_launched", "not_cancellable",
                                                    "not_sending", "not_scheduled") else 400
        return render(request, "sales/campaign_detail.html", context, status=code)
    messages.success(request, success)
    return redirect("sales:campaign_detail", pk=campaign.pk)


@org_required(SALES_EDIT)
@require_POST
def campaign_launch(request, pk):
    return _action(request, pk, lambda c: campaigns.campaign_launch(campaign=c,
                                                                     actor=request.user),
                   _("Campaign launched: the recipients are being prepared, then sending "
                     "starts."))


def _schedule_time(value):
    """The form's datetime-local value (in the current time zone)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationError({"scheduled_for": [_("Enter a date and time.")]})
    return moment


@org_required(SALES_EDIT)
@require_POST
def campaign_schedule(request, pk):
    return _action(request, pk, lambda c: campaigns.campaign_schedule(
        campaign=c, actor=request.user,
        scheduled_for=_schedule_time(request.POST.get("scheduled_for")),
        version=int_param(request.POST.get("version"))),
        _("Campaign scheduled."))


@org_required(SALES_EDIT)
@require_POST
def campaign_unschedule(request, pk):
    return _action(request, pk, lambda c: campaigns.campaign_unschedule(
        campaign=c, actor=request.user, version=int_param(request.POST.get("version"))),
        _("Campaign unscheduled: it is a draft again."))


@org_required(SALES_EDIT)
@require_POST
def campaign_cancel(request, pk):
    return _action(request, pk, lambda c: campaigns.campaign_cancel(
        campaign=c, actor=request.user, version=int_param(request.POST.get("version"))),
        _("Campaign cancelled."))


@org_required(SALES_EDIT)
@require_POST
def campaign_resume(request, pk):
    return _action(request, pk, lambda c: campaigns.campaign_resume(campaign=c,
                                                                     actor=request.user),
                   _("Sending resumed."))


# --- Public tracking -----------------------------------------------------------------------


@never_cache
@require_GET
def campaign_open(request, token):
    """The open pixel: always the same GIF (an unknown token learns nothing)."""
    campaigns.recipient_opened(token=token[:43])
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_GET
def campaign_click(request, token, index):
    """A tracked link: redirects only to the variant's own link at that position."""
    url = campaigns.recipient_clicked(recipient=campaigns.recipient_by_token(token),
                                      index=index)
    if url is None:
        raise Http404
    if url.startswith("/"):
        return redirect(url)
    return HttpResponseRedirect(url)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def campaign_unsubscribe(request, token):
    """GET: a page with a button (link scanners never unsubscribe anyone). POST: the one-click
    unsubscribe of RFC 8058 (mail clients POST `List-Unsubscribe=One-Click`) or the button.
    CSRF-exempt on purpose: the token is the credential and the action only protects the
    recipient."""
    recipient = campaigns.recipient_by_token(token)
    if recipient is None:
        raise Http404
    done = recipient.unsubscribed_at is not None
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        campaigns.recipient_unsubscribe(recipient=recipient,
                                        source="one_click" if one_click else "page")
        done = True
    return render(request, "sales/campaign_unsubscribe.html", {
        "organization": recipient.campaign.organization, "done": done, "token": token,
        "email": recipient.email})


# --- Buyer portal --------------------------------------------------------------------------


@org_required(SERVICE_VIEW)
@require_GET
def portal_offers(request):
    """Offers from the suppliers whose campaigns target this buyer; showing them counts as
    a view (opened)."""
    buyer_only(request)
    offers = campaigns.portal_offers_for(request.organization)
    campaigns.portal_offers_seen(buyer=request.organization,
                                 campaign_ids=[offer.campaign_id for offer in offers])
    return render(request, "sales/portal_offers.html", {"offers": offers})


@org_required(SERVICE_VIEW)
@require_GET
def portal_offer_open(request, token):
    buyer_only(request)
    url = campaigns.portal_offer_click(buyer=request.organization,
                                       recipient=campaigns.recipient_by_token(token))
    if url is None:
        raise Http404
    if url.startswith("/"):
        return redirect(url)
    return HttpResponseRedirect(url)
