"""Reads of returns: lists and details for either party, scoped to the acting organization."""

from django.db.models import Prefetch

from jalin.tenancy.access import for_org, get_for_org_or_404

from .models import ReturnCredit, ReturnLine, ReturnRequest
from .order_selectors import on_side


def returns_for(*, organization, status=None, side=None, order_id=None, buyer_id=None):
    """Returns the organization requested (buyer) or received (supplier)."""
    queryset = for_org(ReturnRequest, organization).select_related("supplier", "buyer",
                                                                   "order")
    queryset = on_side(queryset, organization=organization, side=side)
    if status:
        queryset = queryset.filter(status=status)
    if order_id:
        queryset = queryset.filter(order_id=order_id)
    if buyer_id:
        queryset = queryset.filter(buyer_id=buyer_id)
    return queryset


def return_detail(*, organization, pk):
    queryset = returns_for(organization=organization).select_related(
        "restock_warehouse", "credit_note").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line")),
        "status_changes",
        Prefetch("credits", queryset=ReturnCredit.objects.select_related("credit_note")),
    )
    return get_for_org_or_404(queryset, organization, pk=pk)


def returns_of_order(*, organization, order):
    return list(returns_for(organization=organization).filter(order=order).order_by("id"))
