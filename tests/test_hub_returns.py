"""Hub returns (RMA): lifecycle, quantity limits, return window, permissions per side,
receiving with restock ledger, events and the CRM timeline (SQLite and PostgreSQL)."""

import datetime

import pytest
from django.utils import timezone

from jalin.core.events import events_process
from jalin.core.events_models import Event
from jalin.crm import services as crm_services
from jalin.crm.models import Account, TimelineEntry
from jalin.crm.timeline import render
from jalin.hub import orders, returns, stock
from jalin.hub.models import (
    OrderStatusChange,
    ReturnLine,
    ReturnRequest,
    ReturnStatusChange,
    StockLevel,
    StockMovement,
    SupplierSettings,
)
from jalin.hub.returns import ReceivedLine
from jalin.hub.services import HubError
from jalin.hub.testing import (
    link_buyer,
    make_delivered_order,
    make_price_list,
    make_product,
    set_price,
)
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from jalin.tenancy.services import StaleVersion
from tests.conftest import make_org, make_user


@pytest.fixture
def rma(org, owner):
    """Supplier `org` with stock, a buyer, and a delivered order: 4 paper, 10 pens."""
    buyer = make_org("buyer-co", is_supplier=False, is_buyer=True)
    buyer_user = make_user("buyer-user")
    buyer_membership = Membership.objects.create(user=buyer_user, organization=buyer,
                                                 role=Role.BUYER)
    base = make_price_list(org, owner, "Base", is_base=True)
    paper = make_product(org, owner, "PAP-1", "Paper")
    pens = make_product(org, owner, "PEN-1", "Pens")
    set_price(base, paper, "10000", owner)
    set_price(base, pens, "2500", owner)
    relationship = link_buyer(org, buyer, owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="jkt", name="Jakarta")
    for product in (paper, pens):
        stock.stock_adjust(warehouse=warehouse, product=product, delta=50, reason="count",
                           actor=owner)
    supplier_membership = Membership.objects.get(user=owner, organization=org)
    order = make_delivered_order(relationship=relationship,
                                 supplier_membership=supplier_membership, actor=owner,
                                 lines=[(paper.pk, 4), (pens.pk, 10)],
                                 placed_by=buyer_user)
    lines = {line.sku: line for line in order.lines.all()}
    return type("Rma", (), dict(
        supplier=org, owner=owner, buyer=buyer, buyer_user=buyer_user,
        buyer_membership=buyer_membership, supplier_membership=supplier_membership,
        paper=paper, pens=pens, relationship=relationship, warehouse=warehouse, order=order,
        paper_line=lines["PAP-1"], pens_line=lines["PEN-1"], base=base,
    ))


def request(rma, lines, **kwargs):
    return returns.return_request_create(order=rma.order, membership=rma.buyer_membership,
                                         actor=rma.buyer_user, lines=lines, **kwargs)


def act(rma, return_request, action, membership=None, **kwargs):
    membership = membership or (rma.buyer_membership if action == "cancel"
                                else rma.supplier_membership)
    return returns.return_transition(return_request=return_request, action=action,
                                     membership=membership, actor=membership.user, **kwargs)


def on_hand(rma, product):
    return StockLevel.objects.get(warehouse=rma.warehouse, product=product).on_hand


def test_full_lifecycle_restocks_and_records_every_step(rma):
    paper_before = on_hand(rma, rma.paper)
    first = request(rma, [(rma.paper_line.pk, 2, "damaged"), (rma.pens_line.pk, 3,
                                                              "not_needed")],
                    note="Two reams were wet", reason="Water damage")
    assert (first.number, first.status, first.buyer_id) == (1, "requested", rma.buyer.pk)
    assert first.requested_by == rma.buyer_user
    assert sorted(first.lines.values_list("quantity", "reason")) == [(2, "damaged"),
                                                                     (3, "not_needed")]
    second = request(rma, [(rma.pens_line.pk, 1, "other")])
    assert second.number == 2  # gapless per supplier

    approved = act(rma, first, "approve", version=1, note="Send them back")
    assert approved.status == "approved" and approved.decided_by == rma.owner
    assert approved.supplier_note == "Send them back"
    paper_line = approved.lines.get(order_line=rma.paper_line)
    pens_line = approved.lines.get(order_line=rma.pens_line)
    received = act(rma, approved, "receive", version=2, received=[
        ReceivedLine(line_id=paper_line.pk, quantity=2, condition="damaged", restock=False),
        ReceivedLine(line_id=pens_line.pk, quantity=3, condition="as_new", restock=True),
    ])
    assert received.status == "received" and received.restock_warehouse == rma.warehouse
    assert on_hand(rma, rma.paper) == paper_before  # damaged: not back into stock
    assert on_hand(rma, rma.pens) == 40 + 3
    movement = StockMovement.objects.get(kind="return")
    assert (movement.on_hand_delta, movement.reserved_delta, movement.order_id,
            movement.reason) == (3, 0, rma.order.pk, "RMA-1")
    assert sorted(received.lines.values_list("received_quantity", "condition", "restock")) \
        == [(2, "damaged", False), (3, "as_new", True)]

    history = list(ReturnStatusChange.objects.filter(return_request=first)
                   .values_list("from_status", "to_status", "actor__username"))
    assert history == [("", "requested", "buyer-user"), ("requested", "approved", "owner"),
                       ("approved", "received", "owner")]
    events = list(Event.objects.filter(type__startswith="hub.return.", aggregate_id=str(
        first.pk)).order_by("id"))
    assert [e.type for e in events] == ["hub.return.requested", "hub.return.approved",
                                        "hub.return.received"]
    assert all(e.organization_id == rma.supplier.pk for e in events)
    assert {k: events[0].payload[k] for k in ("return_id", "number", "order_id", "buyer_id")} \
        == {"return_id": first.pk, "number": 1, "order_id": rma.order.pk,
            "buyer_id": rma.buyer.pk}
    stock_event = Event.objects.filter(type="hub.stock.adjusted",
                                       payload__kind="return").get()
    assert stock_event.payload["delta"] == 3 and stock_event.payload["on_hand"] == 43


def test_quantity_limits_count_every_live_return(rma):
    with pytest.raises(HubError) as error:
        request(rma, [(rma.paper_line.pk, 5, "damaged")])
    assert error.value.code == "over_return" and error.value.field == "lines[0].quantity"
    first = request(rma, [(rma.paper_line.pk, 3, "damaged")])
    with pytest.raises(HubError) as error:
        request(rma, [(rma.pens_line.pk, 1, "other"), (rma.paper_line.pk, 2, "damaged")])
    assert error.value.code == "over_return" and error.value.field == "lines[1].quantity"
    assert "Only 1 of PAP-1" in error.value.message
    assert ReturnRequest.objects.count() == 1  # nothing of the refused request was written
    # A rejected request gives its units back ...
    act(rma, first, "reject", version=1, note="Not damaged on our photos")
    second = request(rma, [(rma.paper_line.pk, 4, "damaged")])
    # ... and so does one the buyer withdraws.
    act(rma, second, "cancel", version=1)
    third = request(rma, [(rma.paper_line.pk, 4, "damaged")])
    act(rma, third, "approve", version=1)
    # Only 3 of 4 came back: the 4th may be returned again later.
    line = third.lines.get()
    act(rma, third, "receive", version=2, received=[ReceivedLine(line_id=line.pk, quantity=3)])
    assert returns.returnable_quantities(rma.order)[rma.paper_line.pk] == 1
    assert request(rma, [(rma.paper_line.pk, 1, "other")]).number == 4


def test_invalid_lines_are_refused_naming_the_field(rma, org, owner):
    other_order = make_delivered_order(relationship=rma.relationship,
                                       supplier_membership=rma.supplier_membership,
                                       actor=owner, lines=[(rma.paper.pk, 1)])
    foreign_line = other_order.lines.get()
    cases = [
        ([], "no_lines", "lines"),
        ([(foreign_line.pk, 1, "damaged")], "not_found", "lines[0].order_line_id"),
        ([(rma.paper_line.pk, 0, "damaged")], "invalid_quantity", "lines[0].quantity"),
        ([(rma.paper_line.pk, 1, "bogus")], "invalid_reason", "lines[0].reason"),
        ([(rma.paper_line.pk, 1, "other"), (rma.paper_line.pk, 1, "other")],
         "duplicate_line", "lines[1].order_line_id"),
    ]
    for lines, code, field in cases:
        with pytest.raises(HubError) as error:
            request(rma, lines)
        assert (error.value.code, error.value.field) == (code, field)
    assert not ReturnRequest.objects.exists()
    assert not Event.objects.filter(type__startswith="hub.return.").exists()


def test_only_delivered_orders_within_the_window(rma):
    open_order = orders.order_place(relationship=rma.relationship, actor=rma.buyer_user,
                                    lines=[(rma.paper.pk, 1)])
    with pytest.raises(HubError) as error:
        returns.return_request_create(order=open_order, membership=rma.buyer_membership,
                                      actor=rma.buyer_user,
                                      lines=[(open_order.lines.get().pk, 1, "other")])
    assert error.value.code == "not_delivered"
    # Delivered 31 days ago: the default 30-day window has ended.
    OrderStatusChange.objects.filter(order=rma.order, to_status="delivered").update(
        at=timezone.now() - datetime.timedelta(days=31))
    with pytest.raises(HubError) as error:
        request(rma, [(rma.paper_line.pk, 1, "other")])
    assert error.value.code == "return_window_closed" and "30 days" in error.value.message
    SupplierSettings.objects.create(supplier=rma.supplier, return_window_days=60)
    assert request(rma, [(rma.paper_line.pk, 1, "other")]).status == "requested"
    SupplierSettings.objects.filter(supplier=rma.supplier).update(return_window_days=0)
    with pytest.raises(HubError) as error:
        request(rma, [(rma.paper_line.pk, 1, "other")])
    assert error.value.code == "returns_not_accepted"
    # A closed order is still returnable (window permitting).
    SupplierSettings.objects.filter(supplier=rma.supplier).update(return_window_days=60)
    orders.order_transition(order=rma.order, action="close",
                            membership=rma.supplier_membership, actor=rma.owner)
    assert request(rma, [(rma.paper_line.pk, 1, "other")]).number == 2


def test_permissions_per_side(rma, org):
    sales = make_user("sales-user")
    sales_membership = Membership.objects.create(user=sales, organization=org,
                                                 role=Role.SALES)
    finance = make_user("finance-user")
    finance_membership = Membership.objects.create(user=finance, organization=org,
                                                   role=Role.FINANCE)
    viewer = make_user("buyer-viewer")
    viewer_membership = Membership.objects.create(user=viewer, organization=rma.buyer,
                                                  role=Role.VIEWER)
    for membership in (rma.supplier_membership, viewer_membership):
        with pytest.raises(HubError) as error:
            returns.return_request_create(order=rma.order, membership=membership,
                                          actor=membership.user,
                                          lines=[(rma.paper_line.pk, 1, "other")])
        assert error.value.code == "forbidden"
    item = request(rma, [(rma.paper_line.pk, 1, "other")])
    forbidden = [("approve", rma.buyer_membership), ("approve", finance_membership),
                 ("cancel", rma.supplier_membership), ("receive", rma.buyer_membership)]
    for action, membership in forbidden:
        with pytest.raises(HubError) as error:
            act(rma, item, action, membership=membership, version=1)
        assert error.value.code == "forbidden", action
    assert returns.actions_for(item, rma.buyer_membership) == ["cancel"]
    assert returns.actions_for(item, sales_membership) == ["approve", "reject"]
    assert returns.actions_for(item, finance_membership) == []
    with pytest.raises(HubError) as error:
        act(rma, item, "reject", membership=sales_membership, version=1)
    assert error.value.code == "note_required"
    item = act(rma, item, "approve", membership=sales_membership, version=1)
    item = act(rma, item, "receive", membership=sales_membership, version=2)
    with pytest.raises(HubError) as error:
        act(rma, item, "credit", membership=sales_membership, version=3)
    assert error.value.code == "forbidden"
    assert returns.actions_for(item, finance_membership) == ["credit"]


def test_stale_version_and_wrong_status_change_nothing(rma):
    item = request(rma, [(rma.paper_line.pk, 1, "other")])
    act(rma, item, "approve", version=1)
    with pytest.raises(StaleVersion):
        act(rma, item, "reject", version=1, note="late")
    with pytest.raises(HubError) as error:
        act(rma, item, "approve", version=2)
    assert error.value.code == "invalid_transition"
    item.refresh_from_db()
    assert (item.status, item.version) == ("approved", 2)
    assert ReturnStatusChange.objects.filter(return_request=item).count() == 2


def test_idempotency_key_answers_the_same_return(rma):
    first = request(rma, [(rma.paper_line.pk, 2, "other")], idempotency_key="k1")
    again = request(rma, [(rma.paper_line.pk, 2, "other")], idempotency_key="k1")
    assert first.pk == again.pk and ReturnRequest.objects.count() == 1
    assert ReturnLine.objects.get().quantity == 2


def test_receive_validates_lines_and_warehouse(rma, other_org, owner):
    item = request(rma, [(rma.paper_line.pk, 2, "other")])
    item = act(rma, item, "approve", version=1)
    line = item.lines.get()
    foreign_wh = stock.warehouse_create(supplier=other_org, actor=owner, code="X", name="X")
    cases = [
        ([ReceivedLine(line_id=line.pk, quantity=3)], None, "invalid_quantity"),
        ([ReceivedLine(line_id=line.pk + 999)], None, "not_found"),
        ([ReceivedLine(line_id=line.pk, condition="soggy")], None, "invalid_condition"),
        (None, foreign_wh.pk, "not_found"),
    ]
    for received, warehouse_id, code in cases:
        with pytest.raises(HubError) as error:
            act(rma, item, "receive", version=2, received=received, warehouse_id=warehouse_id)
        assert error.value.code == code
    assert not StockMovement.objects.filter(kind="return").exists()
    second = stock.warehouse_create(supplier=rma.supplier, actor=owner, code="sby",
                                    name="Surabaya")
    item = act(rma, item, "receive", version=2, warehouse_id=second.pk)
    assert item.restock_warehouse == second
    assert StockLevel.objects.get(warehouse=second, product=rma.paper).on_hand == 2


def test_return_events_reach_the_account_timeline(rma, org, owner):
    account = crm_services.account_create(organization=org, actor=owner, name="PT Buyer")
    Account.objects.filter(pk=account.pk).update(hub_organization=rma.buyer)
    item = request(rma, [(rma.paper_line.pk, 1, "other")])
    act(rma, item, "reject", version=1, note="No")
    events_process(batch_size=1000)
    entries = TimelineEntry.objects.filter(account=account, event_type__startswith="hub.return.")
    assert sorted(render.sentence(e) for e in entries) == [
        "Return RMA-1 rejected", "Return RMA-1 requested"]
    assert {e.category for e in entries} == {"hub"}
