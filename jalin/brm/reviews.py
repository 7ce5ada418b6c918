"""Customer service reviews: scheduled per customer from its profile's cadence, created by
hand too, held with minutes (the report is frozen then) or cancelled.

Writes only; reads are in `review_selectors`. Every write owns its transaction, locks the
review row, bumps `version`, and records an audit row and an event (`brm.review.*`).
"""

import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.notifications import notify
from jalin.crm.models import Account
from jalin.tenancy.services import StaleVersion, TenancyError

from .models import CustomerProfile, ReviewStatus, ServiceReview
from .periods import org_zone
from .review_report import build_report

# The scheduling job creates a review this many days before its date.
SCHEDULE_AHEAD_DAYS = 14
MAX_MINUTES = 20_000
MAX_PERIOD_DAYS = 731
JOB_BATCH = 200


class ReviewError(TenancyError):
    """A review request that cannot be carried out as asked; the message is for the user."""


def _check_version(review, version):
    if version is not None and int(version) != review.version:
        raise StaleVersion()


def _locked(review):
    return ServiceReview.objects.select_for_update().get(pk=review.pk)


def _account(organization, account):
    if account is None or account.organization_id != organization.pk:
        raise ReviewError(_("Choose one of your customers."), code="not_found",
                          field="account_id")
    return account


def _validate_dates(scheduled_for, period_start, period_end):
    if period_start > period_end:
        raise ReviewError(_("The period must start before it ends."), field="period_start")
    if (period_end - period_start).days > MAX_PERIOD_DAYS:
        raise ReviewError(_("A review covers at most two years."), field="period_start")
    if scheduled_for < period_start:
        raise ReviewError(_("The review cannot take place before its period starts."),
                          field="scheduled_for")


def _payload(review):
    return {"account_id": review.account_id, "scheduled_for": review.scheduled_for.isoformat(),
            "period_start": review.period_start.isoformat(),
            "period_end": review.period_end.isoformat(), "status": review.status}


def review_create(*, organization, account, scheduled_for, period_start=None, period_end=None,
                  actor=None, now=None, profile=None):
    """Schedule a review of `account` on `scheduled_for`. The period defaults to the days since
    the customer's last review (else its review cadence) up to the day before the review."""
    account = _account(organization, account)
    if profile is None:
        profile = CustomerProfile.objects.filter(organization=organization,
                                                 account=account).first()
    every = profile.review_every_days if profile else 90
    if period_end is None:
        period_end = scheduled_for - datetime.timedelta(days=1)
    if period_start is None:
        previous = (ServiceReview.objects.filter(organization=organization, account=account,
                                                 scheduled_for__lt=scheduled_for)
                    .exclude(status=ReviewStatus.CANCELLED).order_by("-scheduled_for")
                    .values_list("period_end", flat=True).first())
        period_start = (previous + datetime.timedelta(days=1) if previous
                        else scheduled_for - datetime.timedelta(days=every))
        period_start = min(period_start, period_end)
    _validate_dates(scheduled_for, period_start, period_end)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            review = ServiceReview.objects.create(
                organization=organization, account=account, buyer=account.hub_organization,
                scheduled_for=scheduled_for, period_start=period_start, period_end=period_end,
                created_by=actor, created_at=now)
            audit_record(actor=actor, organization=organization, action="brm.review.created",
                         obj=review, after=_payload(review))
            emit_event(type="brm.review.scheduled", organization=organization,
                       aggregate=review, actor=actor, payload=_payload(review))
    except IntegrityError as exc:
        raise ReviewError(_("%(account)s already has a review on that date.") % {
            "account": account.name}, code="duplicate", field="scheduled_for") from exc
    return review


def review_update(*, review, actor, version=None, scheduled_for=None, period_start=None,
                  period_end=None):
    """Move a scheduled review or change its period."""
    with transaction.atomic():
        locked = _locked(review)
        _check_version(locked, version)
        if locked.status != ReviewStatus.SCHEDULED:
            raise ReviewError(_("Only a scheduled review can be changed."), code="state")
        before = _payload(locked)
        locked.scheduled_for = scheduled_for or locked.scheduled_for
        locked.period_start = period_start or locked.period_start
        locked.period_end = period_end or locked.period_end
        _validate_dates(locked.scheduled_for, locked.period_start, locked.period_end)
        locked.version += 1
        try:
            with transaction.atomic():
                locked.save(update_fields=["scheduled_for", "period_start", "period_end",
                                           "version"])
        except IntegrityError as exc:
            raise ReviewError(_("This customer already has a review on that date."),
                              code="duplicate", field="scheduled_for") from exc
        audit_record(actor=actor, organization=locked.organization, action="brm.review.updated",
                     obj=locked, before=before, after=_payload(locked))
        emit_event(type="brm.review.updated", organization=locked.organization,
                   aggregate=locked, actor=actor, payload=_payload(locked))
    return locked


def review_hold(*, review, actor, minutes="", version=None, now=None):
    """The review took place: freeze its report as of now, keep the minutes and actions, and
    move the customer's next review date on by its cadence."""
    minutes = (minutes or "").strip()
    if len(minutes) > MAX_MINUTES:
        raise ReviewError(_("The minutes are too long (at most %(max)s characters).") % {
            "max": MAX_MINUTES}, field="minutes")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(review)
        _check_version(locked, version)
        if locked.status != ReviewStatus.SCHEDULED:
            raise ReviewError(_("This review is no longer scheduled."), code="state")
        locked.report = build_report(locked, now=now)
        locked.minutes = minutes
        locked.status = ReviewStatus.HELD
        locked.held_at = now
        locked.version += 1
        locked.save(update_fields=["report", "minutes", "status", "held_at", "version"])
        profile = (CustomerProfile.objects.select_for_update()
                   .filter(organization=locked.organization, account_id=locked.account_id)
                   .first())
        if profile is not None:
            following = locked.scheduled_for + datetime.timedelta(days=profile.review_every_days)
            if profile.next_review_on is None or profile.next_review_on <= locked.scheduled_for:
                profile.next_review_on = following
                profile.version += 1
                profile.save(update_fields=["next_review_on", "version"])
        audit_record(actor=actor, organization=locked.organization, action="brm.review.held",
                     obj=locked, after={"status": locked.status, "minutes": minutes[:500]})
        emit_event(type="brm.review.held", organization=locked.organization, aggregate=locked,
                   actor=actor, payload={**_payload(locked), "held_at": now.isoformat()})
    return locked


def review_cancel(*, review, actor, version=None, reason=""):
    with transaction.atomic():
        locked = _locked(review)
        _check_version(locked, version)
        if locked.status != ReviewStatus.SCHEDULED:
            raise ReviewError(_("This review is no longer scheduled."), code="state")
        locked.status = ReviewStatus.CANCELLED
        locked.version += 1
        locked.save(update_fields=["status", "version"])
        audit_record(actor=actor, organization=locked.organization,
                     action="brm.review.cancelled", obj=locked,
                     after={"status": locked.status, "reason": reason[:500]})
        emit_event(type="brm.review.cancelled", organization=locked.organization,
                   aggregate=locked, actor=actor, payload=_payload(locked))
    return locked


def schedule_due_reviews(*, now=None, within_days=SCHEDULE_AHEAD_DAYS):
    """Housekeeping: for every customer profile whose next review is within `within_days`,
    create that review (once per customer and date, however often this runs) and notify the
    relationship manager. Returns how many reviews were created."""
    now = now or timezone.now()
    created = 0
    last = 0
    while True:
        # The horizon is computed in UTC+14 at the latest: a profile is picked when its date
        # is within reach in its organization's time zone (checked per row below).
        horizon = (now + datetime.timedelta(days=within_days + 1)).date()
        batch = list(CustomerProfile.objects.filter(next_review_on__isnull=False,
                                                    next_review_on__lte=horizon, pk__gt=last,
                                                    account__archived_at__isnull=True)
                     .select_related("organization", "account", "relationship_manager")
                     .order_by("pk")[:JOB_BATCH])
        if not batch:
            break
        last = batch[-1].pk
        existing = set(ServiceReview.objects.filter(
            account_id__in=[profile.account_id for profile in batch])
            .exclude(status=ReviewStatus.CANCELLED)
            .values_list("account_id", "scheduled_for"))
        for profile in batch:
            today = timezone.localtime(now, org_zone(profile.organization)).date()
            if profile.next_review_on > today + datetime.timedelta(days=within_days):
                continue
            if (profile.account_id, profile.next_review_on) in existing:
                continue
            created += _schedule_one(profile, now=now)
        if len(batch) < JOB_BATCH:
            break
    return created


def _schedule_one(profile, *, now):
    try:
        with transaction.atomic():
            review = review_create(organization=profile.organization, account=profile.account,
                                   scheduled_for=profile.next_review_on, now=now,
                                   profile=profile)
            manager = profile.relationship_manager
            if manager is not None:
                notify(organization=profile.organization, user=manager, kind="brm.review",
                       title=_("Service review with %(account)s on %(date)s") % {
                           "account": profile.account.name,
                           "date": profile.next_review_on.isoformat()},
                       key=f"brm.review:{review.pk}",
                       body=_("Prepare the review of %(start)s – %(end)s.") % {
                           "start": review.period_start.isoformat(),
                           "end": review.period_end.isoformat()},
                       url=reverse("brm:review_detail", args=[review.pk]), email=True)
    except ReviewError:
        return 0
    return 1


def account_for(*, organization, account_id):
    """The organization's (unarchived) account with this id, else a ReviewError."""
    account = Account.objects.filter(organization=organization, pk=account_id,
                                     archived_at__isnull=True).first()
    if account is None:
        raise ReviewError(_("Choose one of your customers."), code="not_found",
                          field="account_id")
    return account
