"""Reads of ordering: warehouses and stock (supplier), orders (both parties), availability
shown to buyers. Everything starts from the acting organization."""

from django.db.models import F, Prefetch, Q

from jalin.tenancy.access import for_org, get_for_org_or_404

from . import stock
from .models import (
    Order,
    OrderLine,
    OrderLineAllocation,
    RelationshipStatus,
    Shipment,
    ShipmentLine,
    StockLevel,
    SupplierSettings,
    TradingRelationship,
    Warehouse,
)


def warehouses_for(*, supplier):
    return for_org(Warehouse, supplier).order_by("code", "id")


def stock_levels(*, supplier, warehouse_id=None, product_id=None, low=False, search=""):
    queryset = for_org(StockLevel, supplier).select_related("warehouse", "product")
    if warehouse_id:
        queryset = queryset.filter(warehouse_id=warehouse_id)
    if product_id:
        queryset = queryset.filter(product_id=product_id)
    if search:
        queryset = queryset.filter(product__sku__istartswith=search[:100])
    if low:
        queryset = queryset.filter(low_stock_threshold__gt=0,
                                   on_hand__lte=F("reserved") + F("low_stock_threshold"))
    return queryset


def on_side(queryset, *, organization, side):
    """A two-party hub document queryset narrowed to where `organization` is the buyer
    (`side="buyer"`) or the supplier (`side="supplier"`); any other side leaves it as is."""
    if side == "buyer":
        return queryset.filter(buyer=organization)
    if side == "supplier":
        return queryset.filter(supplier=organization)
    return queryset


def orders_for(*, organization, status=None, side=None, counterparty_id=None):
    """Orders the organization placed or received (`side`: "buyer"/"supplier" narrows;
    `counterparty_id`: only those with that buyer or supplier on the other side)."""
    queryset = on_side(for_org(Order, organization).select_related("supplier", "buyer"),
                       organization=organization, side=side)
    if status:
        queryset = queryset.filter(status=status)
    if counterparty_id:
        if side == "supplier":
            queryset = queryset.filter(buyer_id=counterparty_id)
        elif side == "buyer":
            queryset = queryset.filter(supplier_id=counterparty_id)
        else:
            queryset = queryset.filter(Q(buyer_id=counterparty_id)
                                       | Q(supplier_id=counterparty_id))
    return queryset


def counterparty_name(*, organization, counterparty_id):
    """The name of an organization `organization` trades with (either side), or "" for one
    it does not (the name of a stranger is not told)."""
    if not counterparty_id:
        return ""
    relationship = (for_org(TradingRelationship, organization)
                    .filter(Q(supplier=organization, buyer_id=counterparty_id)
                            | Q(buyer=organization, supplier_id=counterparty_id))
                    .select_related("supplier", "buyer").first())
    if relationship is None:
        return ""
    return (relationship.buyer.name if relationship.supplier_id == organization.pk
            else relationship.supplier.name)


def order_detail(*, organization, pk):
    queryset = orders_for(organization=organization).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.prefetch_related(
            Prefetch("allocations",
                     queryset=OrderLineAllocation.objects.select_related("warehouse")))),
        "status_changes",
        Prefetch("shipments", queryset=Shipment.objects.prefetch_related(
            Prefetch("lines", queryset=ShipmentLine.objects.select_related("order_line")))),
    )
    return get_for_org_or_404(queryset, organization, pk=pk)


def buyer_relationship(*, buyer, supplier_id):
    return (TradingRelationship.objects
            .filter(buyer=buyer, supplier_id=supplier_id, status=RelationshipStatus.ACTIVE)
            .select_related("supplier", "buyer").first())


def supplier_relationship(*, supplier, buyer_id):
    return (TradingRelationship.objects
            .filter(supplier=supplier, buyer_id=buyer_id, status=RelationshipStatus.ACTIVE)
            .select_related("supplier", "buyer").first())


def availability_for(*, supplier_id, product_ids):
    """{product_id: (status, number or None)} for a page of products; one query (plus one
    for the supplier's setting). The number is shown only if the supplier allows it."""
    rows = (StockLevel.objects.filter(product_id__in=list(product_ids),
                                      warehouse__supplier_id=supplier_id,
                                      warehouse__is_active=True)
            .values_list("product_id", "on_hand", "reserved", "low_stock_threshold"))
    show = SupplierSettings.objects.filter(supplier_id=supplier_id,
                                           show_stock_quantity=True).exists()
    return {pid: (status, number if show else None)
            for pid, (status, number) in stock.availability(rows, product_ids).items()}
