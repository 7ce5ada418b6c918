"""Reads for the service and agreement portfolios (staff side and the buyer portal)."""

import datetime

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from jalin.tenancy.access import for_org, get_for_org_or_404

from .models import (
    Agreement,
    AgreementSignature,
    AgreementStatus,
    AgreementStatusChange,
    Case,
    Service,
    ServiceStatusChange,
    ServiceSubscription,
)
from .service_catalogue import SECTIONS


def services_for(*, organization, section=None, status=None, stage=None, search=""):
    queryset = for_org(Service, organization).select_related("owner").annotate(
        customers=Count("subscriptions", filter=Q(subscriptions__ended_on__isnull=True)))
    if section in SECTIONS:
        queryset = queryset.filter(status__in=SECTIONS[section])
    if status:
        queryset = queryset.filter(status=status)
    if stage:
        queryset = queryset.filter(stage=stage)
    search = (search or "").strip()
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(code__istartswith=search))
    return queryset


def service_detail(*, organization, pk):
    return get_for_org_or_404(
        for_org(Service, organization).select_related("owner").prefetch_related(
            Prefetch("status_changes",
                     queryset=ServiceStatusChange.objects.select_related("changed_by"))),
        organization, pk=pk)


def subscriptions_of(service):
    return (ServiceSubscription.objects.filter(service=service)
            .select_related("account", "agreement").order_by("ended_on", "account__name"))


def cases_of_service(service, *, limit=20):
    return list(Case.objects.filter(organization_id=service.organization_id, service=service)
                .select_related("account").order_by("-id")[:limit])


def agreements_of_service(service):
    return list(service.agreements.select_related("account").order_by("-number"))


def agreements_for(*, organization, status=None, kind=None, account_id=None,
                   expiring_within=None, today=None):
    """The organization's own agreements (staff), filtered."""
    queryset = for_org(Agreement, organization).filter(
        organization=organization).select_related("account", "team", "owner", "sla_policy")
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    if account_id:
        queryset = queryset.filter(account_id=account_id)
    if expiring_within is not None:
        today = today or timezone.localdate()
        queryset = queryset.filter(
            status__in=(AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED),
            ends_on__gte=today, ends_on__lte=today + datetime.timedelta(days=expiring_within))
    return queryset


def _with_detail(queryset):
    return queryset.select_related("account", "team", "owner", "sla_policy", "buyer",
                                   "organization").prefetch_related(
        "services",
        Prefetch("status_changes",
                 queryset=AgreementStatusChange.objects.select_related("changed_by")),
        Prefetch("signatures", queryset=AgreementSignature.objects.select_related("user")),
        "documents")


def agreement_detail(*, organization, pk):
    """One of the organization's own agreements (staff); 404 for anything else."""
    return get_for_org_or_404(_with_detail(Agreement.objects.filter(organization=organization)),
                              organization, pk=pk)


def portal_agreements_for(*, buyer, status=None):
    """Agreements whose customer is `buyer` (the portal); drafts are the supplier's working
    papers and are not shown until they go to negotiation."""
    queryset = (Agreement.objects.filter(buyer=buyer).exclude(status=AgreementStatus.DRAFT)
                .select_related("organization", "account"))
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def portal_agreement_detail(*, buyer, pk):
    from django.http import Http404

    agreement = _with_detail(portal_agreements_for(buyer=buyer)).filter(pk=pk).first()
    if agreement is None:
        raise Http404
    return agreement


def agreements_of_account(*, organization, account_id):
    return list(Agreement.objects.filter(organization=organization, account_id=account_id)
                .order_by("-number"))


def subscriptions_of_account(*, organization, account_id):
    return list(ServiceSubscription.objects.filter(organization=organization,
                                                   account_id=account_id)
                .select_related("service", "agreement").order_by("ended_on", "service__name"))
