"""Reads of service reviews: the supplier's own (for_org) and, in the portal, the held
reviews whose `buyer` is the reading organization."""

from django.http import Http404

from jalin.crm.models import Account
from jalin.tenancy.access import for_org, get_for_org_or_404

from .models import CustomerProfile, ReviewStatus, ServiceReview


def reviews_for(*, organization, status=None, account_id=None):
    queryset = for_org(ServiceReview, organization).select_related("account")
    if status:
        queryset = queryset.filter(status=status)
    if account_id:
        queryset = queryset.filter(account_id=account_id)
    return queryset


def review_detail(*, organization, pk):
    return get_for_org_or_404(
        ServiceReview.objects.select_related("account", "organization", "created_by"),
        organization, pk=pk)


def buyer_reviews_for(*, buyer):
    """Held reviews of the buyer's own account(s), newest first."""
    if buyer is None:
        return ServiceReview.objects.none()
    return (ServiceReview.objects.filter(buyer=buyer, status=ReviewStatus.HELD)
            .select_related("organization", "account"))


def buyer_review_detail(*, buyer, pk):
    try:
        return buyer_reviews_for(buyer=buyer).get(pk=pk)
    except (ServiceReview.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No service review matches the given query.") from exc


def review_accounts(*, organization, limit=500):
    """Accounts offered when scheduling a review: the customer portfolio (accounts with a
    profile), by name."""
    account_ids = for_org(CustomerProfile, organization).values("account_id")
    return list(for_org(Account, organization).filter(pk__in=account_ids,
                                                      archived_at__isnull=True)
                .order_by("name", "id").only("id", "name")[:limit])
