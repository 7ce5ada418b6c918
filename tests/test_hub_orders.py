"""Hub ordering core: stock, carts, orders, transitions, shipments (SQLite and PostgreSQL)."""

from decimal import Decimal

import pytest

from jalin.core.events_models import Event
from jalin.hub import orders, stock
from jalin.hub.models import (
    BuyerSettings,
    Order,
    OrderStatus,
    PaymentTerms,
    StockLevel,
    StockMovement,
)
from jalin.hub.services import HubError
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user


@pytest.fixture
def shop(org, owner):
    """Supplier `org` with a warehouse, two priced products in stock and one buyer."""
    buyer = make_org("buyer-co", is_supplier=False, is_buyer=True)
    buyer_user = make_user("buyer-user")
    buyer_membership = Membership.objects.create(user=buyer_user, organization=buyer,
                                                 role=Role.BUYER)
    approver = make_user("buyer-approver")
    approver_membership = Membership.objects.create(user=approver, organization=buyer,
                                                    role=Role.BUYER_APPROVER)
    base = make_price_list(org, owner, "Base", is_base=True)
    paper = make_product(org, owner, "PAP-1", "Paper")
    pens = make_product(org, owner, "PEN-1", "Pens")
    set_price(base, paper, "10000", owner)
    set_price(base, pens, "2500", owner)
    relationship = link_buyer(org, buyer, owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="jkt", name="Jakarta")
    stock.stock_adjust(warehouse=warehouse, product=paper, delta=10, reason="count",
                       actor=owner)
    stock.stock_adjust(warehouse=warehouse, product=pens, delta=100, reason="count",
                       actor=owner)
    supplier_membership = Membership.objects.get(user=owner, organization=org)
    return type("Shop", (), dict(
        supplier=org, buyer=buyer, buyer_user=buyer_user, buyer_membership=buyer_membership,
        approver=approver, approver_membership=approver_membership, paper=paper, pens=pens,
        relationship=relationship, warehouse=warehouse, owner=owner,
        supplier_membership=supplier_membership, base=base,
    ))


def level(warehouse, product):
    return StockLevel.objects.get(warehouse=warehouse, product=product)


def test_order_reserves_stock_prices_and_taxes(shop):
    order = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                               lines=[(shop.paper.pk, 3), (shop.pens.pk, 2)])
    assert order.status == OrderStatus.SUBMITTED and order.number == 1
    assert order.currency == "IDR"
    assert order.total_net == Decimal("35000")
    assert order.total_tax == Decimal("3850")  # 11% effective PPN
    assert order.total_gross == Decimal("38850")
    paper = level(shop.warehouse, shop.paper)
    assert (paper.on_hand, paper.reserved, paper.available) == (10, 3, 7)
    line = order.lines.get(product=shop.paper)
    assert (line.sku, line.unit_price, line.line_gross) == ("PAP-1", Decimal("10000"),
                                                            Decimal("33300"))
    event = Event.objects.get(type="hub.order.submitted")
    assert event.organization == shop.supplier
    assert event.payload == {"order_id": order.pk, "number": 1,
                             "supplier_id": shop.supplier.pk, "buyer_id": shop.buyer.pk,
                             "total": "38850.00", "currency": "IDR", "status": "submitted"}
    assert StockMovement.objects.filter(order=order, kind="reservation").count() == 2
    second = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                                lines=[(shop.pens.pk, 1)])
    assert second.number == 2


def test_not_enough_stock_writes_nothing(shop):
    with pytest.raises(HubError) as error:
        orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                           lines=[(shop.pens.pk, 1), (shop.paper.pk, 11)])
    assert error.value.code == "out_of_stock" and "PAP-1" in error.value.message
    assert not Order.objects.exists()
    assert level(shop.warehouse, shop.pens).reserved == 0


def test_foreign_or_unpriced_products_are_refused(shop, owner, other_org):
    other_org.is_supplier = True
    other_org.save()
    foreign = make_product(other_org, owner, "X-1")
    with pytest.raises(HubError) as error:
        orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                           lines=[(shop.paper.pk, 1), (foreign.pk, 1)])
    assert error.value.code == "not_found" and error.value.field == "lines[1].product_id"
    unpriced = make_product(shop.supplier, owner, "NOPRICE")
    with pytest.raises(HubError) as error:
        orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                           lines=[(unpriced.pk, 1)])
    assert error.value.code == "no_price"


def test_idempotency_key_returns_the_same_order(shop):
    first = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                               lines=[(shop.paper.pk, 1)], idempotency_key="k-1")
    again = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                               lines=[(shop.paper.pk, 1)], idempotency_key="k-1")
    assert first.pk == again.pk and Order.objects.count() == 1
    assert level(shop.warehouse, shop.paper).reserved == 1


def test_approval_threshold_and_approver(shop):
    BuyerSettings.objects.create(buyer=shop.buyer, approval_threshold=Decimal("20000"),
                                 currency="IDR")
    order = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                               lines=[(shop.paper.pk, 2)])
    assert order.status == OrderStatus.AWAITING_APPROVAL
    assert orders.actions_for(order, shop.buyer_membership) == ["buyer_cancel"]
    with pytest.raises(HubError):
        orders.order_transition(order=order, action="approve",
                                membership=shop.buyer_membership, actor=shop.buyer_user)
    assert "approve" in orders.actions_for(order, shop.approver_membership)
    order = orders.order_transition(order=order, action="approve",
                                    membership=shop.approver_membership, actor=shop.approver,
                                    version=order.version)
    assert order.status == OrderStatus.SUBMITTED and order.approved_by == shop.approver
    history = list(order.status_changes.values_list("from_status", "to_status"))
    assert history == [("", "submitted"), ("submitted", "awaiting_approval"),
                       ("awaiting_approval", "submitted")]
    assert Event.objects.filter(type="hub.order.awaiting_approval").exists()


def test_credit_hold_and_release(shop, owner):
    rel = shop.relationship
    rel.payment_terms, rel.payment_days, rel.credit_limit = PaymentTerms.NET, 30, 30000
    rel.save()
    first = orders.order_place(relationship=rel, actor=shop.buyer_user,
                               lines=[(shop.paper.pk, 2)])  # 22,200
    assert first.status == OrderStatus.SUBMITTED
    held = orders.order_place(relationship=rel, actor=shop.buyer_user,
                              lines=[(shop.paper.pk, 1)])  # 11,100 → 33,300 > 30,000
    assert held.status == OrderStatus.CREDIT_HOLD
    assert orders.exposure(rel) == Decimal("22200")
    finance_user = make_user("supplier-finance")
    finance = Membership.objects.create(user=finance_user, organization=shop.supplier,
                                        role=Role.FINANCE)
    sales = Membership.objects.create(user=make_user("supplier-sales"),
                                      organization=shop.supplier, role=Role.SALES)
    with pytest.raises(HubError):
        orders.order_transition(order=held, action="release_credit", membership=sales,
                                actor=sales.user)
    held = orders.order_transition(order=held, action="release_credit", membership=finance,
                                   actor=finance_user)
    assert held.status == OrderStatus.SUBMITTED and held.credit_released_by == finance_user


def test_confirm_ship_partially_deliver_close(shop):
    order = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                               lines=[(shop.paper.pk, 4)])
    supplier = shop.supplier_membership
    with pytest.raises(HubError):
        orders.order_transition(order=order, action="confirm",
                                membership=shop.buyer_membership, actor=shop.buyer_user)
    order = orders.order_transition(order=order, action="confirm", membership=supplier,
                                    actor=shop.owner)
    line = order.lines.get()
    orders.ship(order=order, membership=supplier, actor=shop.owner, quantities={line.pk: 1},
                tracking="TRK1")
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    paper = level(shop.warehouse, shop.paper)
    assert (paper.on_hand, paper.reserved) == (9, 3)
    with pytest.raises(HubError) as error:
        orders.ship(order=order, membership=supplier, actor=shop.owner,
                    quantities={line.pk: 4})
    assert error.value.code == "over_shipment"
    orders.ship(order=order, membership=supplier, actor=shop.owner, quantities={line.pk: 3})
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED and order.shipments.count() == 2
    paper.refresh_from_db()
    assert (paper.on_hand, paper.reserved) == (6, 0)
    order = orders.order_transition(order=order, action="deliver", membership=supplier,
                                    actor=shop.owner)
    order = orders.order_transition(order=order, action="close", membership=supplier,
                                    actor=shop.owner)
    assert order.status == OrderStatus.CLOSED
    with pytest.raises(HubError):
        orders.order_transition(order=order, action="cancel", membership=supplier,
                                actor=shop.owner)


def test_cancel_releases_stock(shop):
    order = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                               lines=[(shop.paper.pk, 4)])
    orders.order_transition(order=order, action="buyer_cancel",
                            membership=shop.buyer_membership, actor=shop.buyer_user,
                            reason="mistake")
    paper = level(shop.warehouse, shop.paper)
    assert (paper.on_hand, paper.reserved) == (10, 0)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and not order.stock_reserved


def test_stale_version_is_refused(shop):
    from jalin.tenancy.services import StaleVersion

    order = orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                               lines=[(shop.paper.pk, 1)])
    with pytest.raises(StaleVersion):
        orders.order_transition(order=order, action="confirm",
                                membership=shop.supplier_membership, actor=shop.owner,
                                version=order.version + 1)


def test_stock_adjust_rules_and_low_stock_event(shop):
    with pytest.raises(HubError) as error:
        stock.stock_adjust(warehouse=shop.warehouse, product=shop.paper, delta=-11,
                           reason="broken", actor=shop.owner)
    assert error.value.code == "below_reserved"
    with pytest.raises(HubError):
        stock.stock_adjust(warehouse=shop.warehouse, product=shop.paper, delta=1, reason=" ",
                           actor=shop.owner)
    stock.stock_adjust(warehouse=shop.warehouse, product=shop.paper, delta=0, reason="setup",
                       actor=shop.owner, low_stock_threshold=5)
    stock.stock_adjust(warehouse=shop.warehouse, product=shop.paper, delta=-4,
                       reason="broken", actor=shop.owner)
    assert not Event.objects.filter(type="hub.stock.low").exists()  # 6 > 5
    orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                       lines=[(shop.paper.pk, 1)])
    low = Event.objects.get(type="hub.stock.low")
    assert low.payload["available"] == 5 and low.payload["product_id"] == shop.paper.pk
    orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                       lines=[(shop.paper.pk, 1)])
    assert Event.objects.filter(type="hub.stock.low").count() == 1  # once per crossing


def test_cart_quick_order_checkout_and_reorder(shop, owner):
    rel = shop.relationship
    result = orders.quick_order(relationship=rel, user=shop.buyer_user,
                                text="PAP-1, 2\nnonsense\nNOPE, 3\nPEN-1;5\n\nPAP-1, 1")
    assert result.added == 3
    assert [(n, msg[:7]) for n, _raw, msg in result.errors] == [(2, "Write “"),
                                                               (3, "Unknown")]
    cart = orders.cart_for(relationship=rel, user=shop.buyer_user)
    assert dict(cart.lines.values_list("product__sku", "quantity")) == {"PAP-1": 3,
                                                                       "PEN-1": 5}
    other_supplier = make_org("supplier-two", is_supplier=True)
    other_rel = link_buyer(other_supplier, shop.buyer, owner)
    with pytest.raises(HubError):  # product of another supplier through this cart
        orders.cart_set_line(relationship=other_rel, user=shop.buyer_user,
                             product_id=shop.paper.pk, quantity=1)
    placed, errors = orders.checkout_all(buyer=shop.buyer, user=shop.buyer_user,
                                         actor=shop.buyer_user)
    assert len(placed) == 1 and not errors
    assert not cart.lines.exists()
    added, skipped = orders.reorder(order=placed[0], user=shop.buyer_user, relationship=rel)
    assert added == 2 and skipped == []


def test_suspended_relationship_cannot_order(shop):
    from jalin.hub.models import RelationshipStatus

    rel = shop.relationship
    rel.status = RelationshipStatus.SUSPENDED
    rel.save()
    with pytest.raises(HubError) as error:
        orders.order_place(relationship=rel, actor=shop.buyer_user, lines=[(shop.paper.pk, 1)])
    assert error.value.code == "not_trading"
    assert not Order.objects.exists()


def test_refused_credit_cancels_and_releases_stock(shop):
    rel = shop.relationship
    rel.payment_terms, rel.payment_days, rel.credit_limit = PaymentTerms.NET, 30, 0
    rel.save()
    held = orders.order_place(relationship=rel, actor=shop.buyer_user,
                              lines=[(shop.paper.pk, 2)])
    assert held.status == OrderStatus.CREDIT_HOLD
    assert level(shop.warehouse, shop.paper).reserved == 2
    held = orders.order_transition(order=held, action="refuse_credit",
                                   membership=shop.supplier_membership, actor=shop.owner,
                                   reason="Overdue invoices")
    assert held.status == OrderStatus.CANCELLED
    assert level(shop.warehouse, shop.paper).reserved == 0
    change = held.status_changes.last()
    assert (change.from_status, change.to_status, change.reason) == (
        "credit_hold", "cancelled", "Overdue invoices")
    assert Event.objects.filter(type="hub.order.cancelled",
                                payload__buyer_id=shop.buyer.pk).exists()
