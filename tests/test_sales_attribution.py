"""Hub orders attributed to campaign recipients by the `sales.campaign_attribution` consumer:
window edges, holdout, idempotency (same event twice, duplicate event), cancellation, other
suppliers' campaigns untouched, the account link used when the recipient has no buyer."""

import datetime
from decimal import Decimal

import pytest

from jalin.core.events import consumer_deliver, emit_event, events_sequence
from jalin.core.events_models import Event
from jalin.hub import orders, stock
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.sales.attribution import CONSUMER, attribute_order
from jalin.sales.models import CampaignAttribution, CampaignRecipient
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import Role
from tests.conftest import make_org, make_user
from tests.experiments_world import add_recipients, make_account, make_campaign


@pytest.fixture
def shop(org, owner):
    buyer = make_org("toko-maju", is_supplier=False, is_buyer=True)
    buyer_user = make_user("toko-user")
    Membership.objects.create(user=buyer_user, organization=buyer, role=Role.BUYER)
    base = make_price_list(org, owner, "Base", is_base=True)
    cement = make_product(org, owner, "SEM-1", "Cement")
    set_price(base, cement, "50000", owner)
    relationship = link_buyer(org, buyer, owner)
    warehouse = stock.warehouse_create(supplier=org, actor=owner, code="jkt", name="Jakarta")
    stock.stock_adjust(warehouse=warehouse, product=cement, delta=1000, reason="count",
                       actor=owner)
    account = make_account(org, "Toko Maju", buyer=buyer)
    return type("Shop", (), dict(buyer=buyer, buyer_user=buyer_user, cement=cement,
                                 relationship=relationship, account=account, owner=owner,
                                 supplier=org))


def place(shop, quantity=2):
    return orders.order_place(relationship=shop.relationship, actor=shop.buyer_user,
                              lines=[(shop.cement.pk, quantity)])


def deliver():
    events_sequence()
    return consumer_deliver(name=CONSUMER)


def test_window_edges_and_first_conversion(shop, org):
    campaign, (a, b) = make_campaign(org, variants=(("A", 1), ("B", 1)), attribution_days=30)
    order = place(shop)
    at = order.submitted_at
    day = datetime.timedelta(days=1)
    minute = datetime.timedelta(minutes=1)
    inside = add_recipients(campaign, a, 1, account=shop.account, buyer=shop.buyer,
                            sent_at=at - 30 * day + minute)[0]
    edge = add_recipients(campaign, a, 1, account=shop.account, buyer=shop.buyer,
                          sent_at=at - 30 * day)[0]
    outside = add_recipients(campaign, b, 1, account=shop.account, buyer=shop.buyer,
                             sent_at=at - 30 * day - minute)[0]
    later = add_recipients(campaign, b, 1, account=shop.account, buyer=shop.buyer,
                           sent_at=at + minute)[0]
    unlinked = add_recipients(campaign, b, 1, sent_at=at - minute)[0]
    skipped = add_recipients(campaign, b, 0, skipped=1, account=shop.account,
                             buyer=shop.buyer)[0]

    deliver()

    net = order.total_net
    assert net == Decimal("100000")
    for recipient in (inside, edge):
        recipient.refresh_from_db()
        assert recipient.converted_at == at and recipient.revenue == net
    for recipient in (outside, later, unlinked, skipped):
        recipient.refresh_from_db()
        assert recipient.converted_at is None and recipient.revenue == 0
    assert CampaignAttribution.objects.count() == 2

    # A second order adds revenue but keeps the first conversion time.
    second = place(shop, quantity=1)
    deliver()
    inside.refresh_from_db()
    assert inside.converted_at == at
    assert inside.revenue == net + second.total_net


def test_idempotent_same_event_twice_and_duplicate_event(shop, org):
    campaign, (a, _b) = make_campaign(org)
    recipient = add_recipients(campaign, a, 1, account=shop.account, buyer=shop.buyer,
                               sent_at=None)[0]
    CampaignRecipient.objects.filter(pk=recipient.pk).update(
        sent_at=campaign.sent_at)
    order = place(shop)
    deliver()
    deliver()
    # The dispatcher redelivers, or the hub emits the same order event again.
    event = Event.objects.get(type="hub.order.submitted")
    emit_event(type="hub.order.submitted", organization=org, aggregate=order,
               payload=event.payload)
    deliver()
    assert attribute_order(supplier=org, order_id=order.pk) == 0
    recipient.refresh_from_db()
    assert recipient.revenue == order.total_net
    assert CampaignAttribution.objects.filter(recipient=recipient).count() == 1


def test_holdout_is_attributed_from_the_campaign_send(shop, org):
    campaign, (a,) = make_campaign(org, variants=(("A", 1),), holdout_percent=10)
    holdout = add_recipients(campaign, None, 1, account=shop.account, buyer=shop.buyer)[0]
    assert holdout.sent_at is None
    order = place(shop)
    deliver()
    holdout.refresh_from_db()
    assert holdout.converted_at == order.submitted_at and holdout.revenue == order.total_net

    # The launch stamps the holdout's rows with its time: that is their exposure (here a
    # minute from now, so an order placed now is not theirs though the campaign's own
    # sent_at is a day ago).
    stamped_campaign, _ = make_campaign(org, name="Stamped", variants=(("A", 1),),
                                        holdout_percent=10)
    stamped = add_recipients(stamped_campaign, None, 1, account=shop.account,
                             buyer=shop.buyer)[0]
    CampaignRecipient.objects.filter(pk=stamped.pk).update(
        sent_at=order.submitted_at + datetime.timedelta(minutes=1))
    late = place(shop)
    deliver()
    stamped.refresh_from_db()
    assert late.submitted_at < stamped.sent_at
    assert stamped.converted_at is None and stamped.revenue == 0

    # A holdout of a campaign that never went out is not attributed.
    draft, _ = make_campaign(org, name="Draft", variants=(("A", 1),), status="draft")
    not_yet = add_recipients(draft, None, 1, account=shop.account, buyer=shop.buyer)[0]
    place(shop)
    deliver()
    not_yet.refresh_from_db()
    assert not_yet.converted_at is None


def test_account_link_used_when_recipient_has_no_buyer(shop, org):
    campaign, (a, _b) = make_campaign(org)
    recipient = add_recipients(campaign, a, 1, account=shop.account, buyer=None)[0]
    order = place(shop)
    deliver()
    recipient.refresh_from_db()
    assert recipient.revenue == order.total_net


def test_other_suppliers_campaigns_are_not_credited(shop, org, other_org, outsider):
    other_supplier = make_org("pesaing", is_supplier=True)
    foreign_account = make_account(other_supplier, "Toko Maju there", buyer=shop.buyer)
    foreign, (fa, _fb) = make_campaign(other_supplier, name="Theirs")
    theirs = add_recipients(foreign, fa, 1, account=foreign_account, buyer=shop.buyer)[0]
    place(shop)
    deliver()
    theirs.refresh_from_db()
    assert theirs.converted_at is None and not CampaignAttribution.objects.exists()


def test_cancelled_order_is_taken_back(shop, org, owner):
    campaign, (a, _b) = make_campaign(org)
    recipient = add_recipients(campaign, a, 1, account=shop.account, buyer=shop.buyer)[0]
    first = place(shop)
    second = place(shop, quantity=1)
    deliver()
    recipient.refresh_from_db()
    assert recipient.revenue == first.total_net + second.total_net
    supplier = Membership.objects.get(user=owner, organization=org)
    orders.order_transition(order=first, action="cancel", membership=supplier, actor=owner,
                            reason="Out of stock")
    deliver()
    recipient.refresh_from_db()
    assert recipient.revenue == second.total_net
    assert recipient.converted_at == second.submitted_at
    assert not CampaignAttribution.objects.filter(order=first).exists()


def test_promotion_orders_count_after_the_window(org):
    """An order that used the campaign's promotion counts after the window (not before the
    exposure); other promotions do not. Pure rule: hub pricing records line promotions."""
    from jalin.sales.attribution import attributable
    from jalin.sales.models import Campaign, CampaignRecipient, CampaignVariant

    sent = datetime.datetime(2026, 3, 1, 9, tzinfo=datetime.UTC)
    campaign = Campaign(organization=org, attribution_days=7, promotion_id=41, sent_at=sent)
    variant = CampaignVariant(campaign=campaign, name="A", pk=1)
    recipient = CampaignRecipient(campaign=campaign, variant=variant, sent_at=sent)
    day = datetime.timedelta(days=1)
    assert attributable(recipient=recipient, ordered_at=sent + 7 * day) == "window"
    assert attributable(recipient=recipient, ordered_at=sent + 8 * day) is None
    assert attributable(recipient=recipient, ordered_at=sent + 8 * day,
                        promotion_ids={41}) == "promotion"
    assert attributable(recipient=recipient, ordered_at=sent + 8 * day,
                        promotion_ids={42}) is None
    assert attributable(recipient=recipient, ordered_at=sent - day, promotion_ids={41}) is None
    holdout = CampaignRecipient(campaign=campaign, variant=None)
    assert attributable(recipient=holdout, ordered_at=sent + day) == "window"
