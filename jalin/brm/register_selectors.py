"""Reads of the BRM registers (requirements, changes, opportunities, improvements), scoped to
the acting organization; the buyer portal's reads of requirements awaiting sign-off.

Lists sort by an indexed key ending in the primary key and are paged by keyset
(`jalin.crm.selectors.keyset_page`); nothing counts the whole table.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from jalin.tenancy.access import for_org, get_for_org_or_404

from .models import (
    CustomerChange,
    Improvement,
    OpportunityRecord,
    Requirement,
    RequirementStatus,
    RequirementVersion,
    SignOff,
)

REQUIREMENT_SORTS = {"number": ("-number", "-id"), "updated": ("-updated_at", "-id"),
                     "title": ("title", "id")}
CHANGE_SORTS = {"identified": ("-identified_at", "-id"), "title": ("title", "id")}
OPPORTUNITY_SORTS = {"identified": ("-identified_at", "-id"), "title": ("title", "id")}
IMPROVEMENT_SORTS = {"number": ("-number", "-id"), "raised": ("-raised_at", "-id"),
                     "title": ("title", "id")}


@dataclass
class Period:
    start: datetime.date | None = None
    end: datetime.date | None = None

    def filter(self, queryset, field):
        tz = timezone.get_current_timezone()
        if self.start:
            queryset = queryset.filter(**{f"{field}__gte": datetime.datetime.combine(
                self.start, datetime.time.min, tzinfo=tz)})
        if self.end:
            queryset = queryset.filter(**{f"{field}__lt": datetime.datetime.combine(
                self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)})
        return queryset


# --- Requirements --------------------------------------------------------------------------


def _customer_decided():
    return Exists(SignOff.objects.filter(requirement=OuterRef("pk"), party="customer"))


def _current_decided():
    return Exists(SignOff.objects.filter(
        requirement=OuterRef("pk"), party="customer",
        requirement_version__number=OuterRef("current_version")))


def requirements_for(*, organization, status=None, account_id=None, kind=None,
                     awaiting=None):
    queryset = for_org(Requirement, organization).select_related("account", "owner",
                                                                 "service")
    if status:
        queryset = queryset.filter(status=status)
    if account_id:
        queryset = queryset.filter(account_id=account_id)
    if kind:
        queryset = queryset.filter(kind=kind)
    if awaiting is not None:
        waiting = Q(status=RequirementStatus.QUALIFIED, buyer__isnull=False) & ~_current_decided()
        queryset = queryset.filter(waiting if awaiting else ~waiting)
    return queryset


def requirement_detail(*, organization, pk):
    queryset = for_org(Requirement, organization).select_related(
        "account", "owner", "service", "buyer").prefetch_related(
        Prefetch("versions", queryset=RequirementVersion.objects.select_related("created_by")
                 .order_by("-number")),
        Prefetch("sign_offs", queryset=SignOff.objects.select_related("requirement_version")
                 .order_by("-decided_at", "-id")),
        "status_changes__changed_by")
    return get_for_org_or_404(queryset, organization, pk=pk)


def requirement_version(requirement, number):
    from django.http import Http404

    for version in requirement.versions.all():
        if version.number == number:
            return version
    raise Http404("No such version.")


def requirements_of_account(*, organization, account_id):
    """The requirements of one customer, newest first (for the customer page)."""
    return requirements_for(organization=organization, account_id=account_id).order_by(
        "-number")


# The buyer portal: requirements that name the buyer and are awaiting its decision or were
# decided by it (drafts and our own screening never show).


def portal_requirements(*, buyer, awaiting=None):
    if buyer is None:
        return Requirement.objects.none()
    queryset = (Requirement.objects.filter(buyer=buyer)
                .filter(Q(status=RequirementStatus.QUALIFIED) | _customer_decided())
                .select_related("organization", "account"))
    if awaiting is not None:
        waiting = Q(status=RequirementStatus.QUALIFIED) & ~_current_decided()
        queryset = queryset.filter(waiting if awaiting else ~waiting)
    return queryset


def portal_requirement(*, buyer, pk):
    from django.http import Http404

    queryset = portal_requirements(buyer=buyer).prefetch_related(
        Prefetch("versions", queryset=RequirementVersion.objects.order_by("-number")),
        Prefetch("sign_offs", queryset=SignOff.objects.select_related("requirement_version")
                 .order_by("-decided_at", "-id")))
    try:
        return queryset.get(pk=pk)
    except (Requirement.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such requirement.") from exc


def portal_awaiting_count(*, buyer):
    """How many requirements wait for the buyer's sign-off (for the portal home link)."""
    return portal_requirements(buyer=buyer, awaiting=True).count()


# --- Changes -------------------------------------------------------------------------------


def changes_for(*, organization, account_id=None, origin=None, responded=None, period=None,
                impact_level=None):
    queryset = for_org(CustomerChange, organization).select_related(
        "account", "responded_by", "service")
    if account_id:
        queryset = queryset.filter(account_id=account_id)
    if origin:
        queryset = queryset.filter(origin=origin)
    if impact_level:
        queryset = queryset.filter(impact_level=impact_level)
    if responded is not None:
        queryset = queryset.filter(responded_at__isnull=not responded)
    if period is not None:
        queryset = period.filter(queryset, "identified_at")
    return queryset


def changes_of_account(*, organization, account_id, limit=20):
    """The changes affecting one customer, newest first — for the customer page (brmport)."""
    return list(changes_for(organization=organization, account_id=account_id)
                .order_by("-identified_at", "-id")[:limit])


def change_detail(*, organization, pk):
    return get_for_org_or_404(changes_for(organization=organization), organization, pk=pk)


# --- Opportunities -------------------------------------------------------------------------


def opportunities_for(*, organization, status=None, kind=None, account_id=None,
                      service_id=None, period=None):
    queryset = for_org(OpportunityRecord, organization).select_related("account", "service",
                                                                       "owner")
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    if account_id:
        queryset = queryset.filter(account_id=account_id)
    if service_id:
        queryset = queryset.filter(service_id=service_id)
    if period is not None:
        queryset = period.filter(queryset, "identified_at")
    return queryset


def opportunity_detail(*, organization, pk):
    return get_for_org_or_404(opportunities_for(organization=organization), organization,
                              pk=pk)


# --- Improvements --------------------------------------------------------------------------


def improvements_for(*, organization, status=None, source=None, account_id=None,
                     owner_id=None, period=None, open_only=False):
    queryset = for_org(Improvement, organization).select_related(
        "account", "service", "owner", "source_case")
    if status:
        queryset = queryset.filter(status=status)
    if open_only:
        queryset = queryset.exclude(status__in=("closed", "cancelled"))
    if source:
        queryset = queryset.filter(source=source)
    if account_id:
        queryset = queryset.filter(account_id=account_id)
    if owner_id:
        queryset = queryset.filter(owner_id=owner_id)
    if period is not None:
        queryset = period.filter(queryset, "raised_at")
    return queryset


def improvement_detail(*, organization, pk):
    queryset = improvements_for(organization=organization).select_related(
        "source_response", "source_response__survey").prefetch_related(
        "status_changes__changed_by")
    return get_for_org_or_404(queryset, organization, pk=pk)
