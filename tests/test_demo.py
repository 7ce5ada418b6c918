"""`jalin demo`: a realistic hub that loads, loads again without duplicates, and lets people in."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jalin.accounts.models import User
from jalin.core.events_models import Event
from jalin.core.models import AuditLog
from jalin.crm.models import Account, Contact, CustomFieldDefinition
from jalin.hub.models import (
    BuyerAddress,
    Order,
    PriceList,
    PriceListItem,
    Product,
    TradingRelationship,
)
from jalin.tenancy.management.commands.demo import DEFAULT_PASSWORD, PEOPLE
from jalin.tenancy.models import Membership, Organization
from jalin.tenancy.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    # The demo hashes a password per person; Argon2 would make every load take seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_demo(*args):
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def counts():
    return {
        "organizations": Organization.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "audit": AuditLog.objects.count(),
        "events": Event.objects.count(),
        "products": Product.objects.count(),
        "price_lists": PriceList.objects.count(),
        "price_list_items": PriceListItem.objects.count(),
        "relationships": TradingRelationship.objects.count(),
        "accounts": Account.objects.count(),
        "contacts": Contact.objects.count(),
        "custom_fields": CustomFieldDefinition.objects.count(),
        "addresses": BuyerAddress.objects.count(),
    }


def test_demo_loads_a_hub_with_every_kind_of_party_and_role():
    load_demo()

    assert Organization.objects.filter(is_operator=True).count() == 1
    assert Organization.objects.filter(is_supplier=True).count() >= 2
    assert Organization.objects.filter(is_buyer=True).count() >= 3
    assert Organization.objects.filter(is_supplier=True, is_buyer=True).exists()
    assert all(org.tax_id and org.city for org in Organization.objects.all())

    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
    # Every supplier has its admin; every buyer too.
    for organization in Organization.objects.all():
        assert organization.memberships.filter(role=Role.ORG_ADMIN, is_active=True).exists()

    superuser = User.objects.get(is_superuser=True)
    assert superuser.is_staff
    assert superuser.memberships.filter(organization__is_operator=True).exists()

    switchers = [u for u in User.objects.all() if u.memberships.count() >= 2]
    assert switchers, "one demo person must belong to two organizations"


def test_demo_writes_audit_and_events_through_the_services():
    load_demo()
    organizations = Organization.objects.count()
    memberships = Membership.objects.count()
    assert AuditLog.objects.filter(action="organization.created").count() == organizations
    assert AuditLog.objects.filter(action="membership.created").count() == memberships
    assert Event.objects.filter(type="organization.created").count() == organizations
    assert Event.objects.filter(type="membership.created").count() == memberships


def test_demo_is_idempotent():
    load_demo()
    first = counts()
    output = load_demo()
    assert counts() == first
    assert "0 organizations, 0 people and 0 memberships created" in output
    assert "0 categories, 0 products, 0 prices, 0 trading relationships" in output
    assert "0 accounts and 0 contacts created" in output


def test_demo_keeps_existing_rows_and_adds_what_is_missing():
    load_demo()
    # As if lina had never been loaded (renaming avoids cascading into other apps' rows).
    User.objects.filter(username="lina").update(username="lina-before")
    budi = Membership.objects.get(user__username="budi")
    Membership.objects.filter(pk=budi.pk).update(role=Role.VIEWER)

    output = load_demo()

    assert "0 organizations, 1 people and 1 memberships created" in output
    assert Membership.objects.get(user__username="lina").role == Role.BUYER
    assert Membership.objects.filter(organization__slug="toko-bangunan-sejahtera").count() == 4
    # A role someone changed after loading the demo is theirs to keep.
    assert Membership.objects.get(pk=budi.pk).role == Role.VIEWER


def test_demo_reuses_an_existing_operator():
    Organization.objects.create(slug="my-hub", name="My Hub", is_operator=True)
    load_demo()
    assert list(Organization.objects.filter(is_operator=True).values_list("slug", flat=True)) == [
        "my-hub"
    ]
    assert User.objects.get(username="admin").memberships.get().organization.slug == "my-hub"


def test_demo_prints_every_person_with_the_shared_password():
    output = load_demo()
    assert DEFAULT_PASSWORD in output
    for person in PEOPLE:
        assert person.username in output
    for organization in Organization.objects.all():
        assert organization.name in output
    assert "http://127.0.0.1:8000/accounts/login/" in output


def test_every_printed_credential_signs_in():
    load_demo()
    for person in PEOPLE:
        client = Client()
        response = client.post(
            reverse("accounts:login"),
            {"username": person.username, "password": DEFAULT_PASSWORD},
        )
        assert response.status_code == 302, person.username
        assert int(client.session["_auth_user_id"]) == User.objects.get(
            username=person.username
        ).pk


def test_wrong_password_does_not_sign_in():
    load_demo()
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": "budi", "password": "not-the-demo-password"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_password_option_sets_the_shared_password_and_a_rerun_resets_it():
    load_demo("--password", "kata-sandi-rahasia")
    assert Client().login(username="sari", password="kata-sandi-rahasia")
    assert not Client().login(username="sari", password=DEFAULT_PASSWORD)

    load_demo()
    assert Client().login(username="sari", password=DEFAULT_PASSWORD)


def test_too_short_password_is_refused_and_nothing_is_written():
    with pytest.raises(CommandError, match="at least 8"):
        load_demo("--password", "short")
    assert not Organization.objects.exists()


def test_production_refuses_without_force(settings):
    settings.JALIN_ENV = "production"
    with pytest.raises(CommandError, match="production"):
        load_demo()
    assert not Organization.objects.exists()

    load_demo("--force")
    assert Organization.objects.filter(is_operator=True).exists()


SUPPLIERS = ("sinar-distribusi", "maju-manufaktur")
BUYERS = ("toko-bangunan-sejahtera", "rs-harapan", "kopi-kita")


def signed_in(username):
    client = Client()
    assert client.login(username=username, password=DEFAULT_PASSWORD)
    return client


def test_demo_gives_each_supplier_a_priced_catalog_and_terms_with_every_buyer():
    output = load_demo()
    assert "27 products" in output

    for slug in SUPPLIERS:
        supplier = Organization.objects.get(slug=slug)
        products = Product.objects.filter(supplier=supplier)
        assert products.count() >= 10
        assert products.filter(category__isnull=False).count() == products.count()
        base = PriceList.objects.get(supplier=supplier, is_base=True)
        assert base.currency == "IDR"
        assert base.items.count() == products.count()  # every product orderable
        relationships = TradingRelationship.objects.filter(supplier=supplier)
        assert set(relationships.values_list("buyer__slug", flat=True)) == set(BUYERS)
        customer = relationships.get(price_list__isnull=False)
        breaks = customer.price_list.items.values_list("product", "min_quantity")
        assert len(breaks) > len({product for product, _ in breaks}), "quantity breaks"
        assert relationships.filter(payment_terms="net", credit_limit__gt=0).exists()


def test_lina_sees_her_suppliers_catalog_with_her_own_prices():
    load_demo()
    sinar = Organization.objects.get(slug="sinar-distribusi")
    relationship = TradingRelationship.objects.get(supplier=sinar,
                                                   buyer__slug="toko-bangunan-sejahtera")
    cement = Product.objects.get(supplier=sinar, sku="SDN-SMN-PCC50")
    base = PriceListItem.objects.get(price_list__is_base=True, product=cement)
    own = PriceListItem.objects.get(price_list=relationship.price_list, product=cement,
                                    min_quantity=1)
    assert own.unit_price < base.unit_price

    client = signed_in("lina")
    assert client.get(reverse("hub:shop")).status_code == 200
    response = client.get(reverse("hub:shop_catalog", args=[sinar.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert cement.name in html
    assert "Rp" in html or "IDR" in html
    assert "No price" not in html and "Tidak ada harga" not in html
    # Her list, not the base list: 68,500 × 0.95 = 65,100.
    assert "65,100" in html or "65.100" in html
    assert "68,500" not in html and "68.500" not in html


def test_budi_sees_crm_accounts_with_contacts_and_custom_fields():
    load_demo()
    sinar = Organization.objects.get(slug="sinar-distribusi")
    accounts = Account.objects.filter(organization=sinar)
    assert accounts.count() >= 8
    linked = accounts.filter(hub_organization__isnull=False)
    assert set(linked.values_list("hub_organization__slug", flat=True)) == set(BUYERS)
    assert accounts.filter(status="prospect", hub_organization__isnull=True).exists()
    for account in accounts:
        assert 2 <= account.contacts.count() <= 3
        assert account.custom.get("segmen")
    contacts = Contact.objects.filter(organization=sinar)
    assert all(c.phone.startswith("+62") and c.relationship_role for c in contacts)
    assert CustomFieldDefinition.objects.filter(organization=sinar).count() == 2

    client = signed_in("budi")
    response = client.get(reverse("crm:account_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "PT Graha Konstruksi Mandiri" in html
    assert "PT Toko Bangunan Sejahtera" in html
    # Another supplier's CRM stays out of budi's list.
    assert "PT Hotel Samudra Indah" not in html
    contact = contacts.get(email="lina.marlina@tokobangunan.example")
    response = client.get(reverse("crm:contact_detail", args=[contact.pk]))
    assert response.status_code == 200
    assert "Marlina" in response.content.decode()


def test_catalog_and_crm_go_through_the_services():
    load_demo()
    for action in ("hub.product.created", "hub.relationship.created",
                   "crm.account.created", "crm.contact.created"):
        assert AuditLog.objects.filter(action=action).exists(), action
        assert Event.objects.filter(type=action).exists(), action
    assert AuditLog.objects.filter(action="hub.product.created").count() == (
        Product.objects.count()
    )
    assert Event.objects.filter(type="crm.contact.created").count() == Contact.objects.count()


def test_demo_has_a_delivered_order_with_a_requested_return():
    from jalin.hub.models import ReturnRequest

    load_demo()
    rma = ReturnRequest.objects.select_related("order").get()
    assert rma.status == "requested" and rma.order.status == "delivered"
    assert rma.lines.get().reason == "damaged"
    assert "0 sample orders and 0 returns created" in load_demo()
    assert ReturnRequest.objects.count() == 1


def test_demo_has_a_product_family_with_pictures_and_a_customer_group():
    from jalin.hub.models import CustomerGroup, ProductImage
    from jalin.hub.pricing import price_for

    load_demo()
    sinar = Organization.objects.get(slug="sinar-distribusi")
    head = Product.objects.get(supplier=sinar, sku="SDN-CAT-TBK5")
    assert set(head.variants.values_list("attributes__Warna", flat=True)) == {
        "Putih", "Abu-abu"}
    assert ProductImage.objects.filter(product__supplier=sinar).count() == 3
    group = CustomerGroup.objects.get(supplier=sinar)
    relationship = TradingRelationship.objects.get(supplier=sinar, buyer__slug="kopi-kita")
    assert relationship.group == group
    cement = Product.objects.get(supplier=sinar, sku="SDN-SMN-PCC50")
    price = price_for(relationship=relationship, product=cement, quantity=1,
                      on_date=timezone.localdate())
    assert price.source == "group" and price.amount == Decimal("66400")  # 68,500 × 0.97
    load_demo()  # again: nothing twice
    assert ProductImage.objects.filter(product__supplier=sinar).count() == 3
    assert CustomerGroup.objects.filter(supplier=sinar).count() == 1


def test_sample_orders_are_shipped_and_invoiced_once():
    from jalin.hub.models import Invoice, Order, OrderStatus, Shipment

    load_demo()
    shipped = Order.objects.filter(status=OrderStatus.SHIPPED,
                                   buyer_reference__startswith="PO-DEMO-")
    assert shipped.exists()
    for order in shipped:
        invoice = Invoice.objects.get(order=order)
        assert invoice.shipment.order_id == order.pk
        assert invoice.total_gross == order.total_gross == order.invoiced_gross
    before = (Shipment.objects.count(), Invoice.objects.count())
    load_demo()
    assert (Shipment.objects.count(), Invoice.objects.count()) == before


def test_demo_has_a_request_for_quotation_with_a_sent_quote_once():
    from jalin.hub.models import Quote, Rfq

    load_demo()
    # The buyer's own request; the sales demo adds a supplier-initiated one beside it.
    rfq = Rfq.objects.get(supplier_initiated=False)
    quote = Quote.objects.get(rfq=rfq)
    assert rfq.status == "quoted" and quote.status == "sent" and quote.rfq_id == rfq.pk
    assert quote.total_gross > 0 and quote.lines.count() == rfq.lines.count() == 2
    counts = (Rfq.objects.count(), Quote.objects.count())
    output = load_demo()
    assert (Rfq.objects.count(), Quote.objects.count()) == counts
    assert "0 request for quotation" in output
    buyer = rfq.requested_by.username
    response = signed_in(buyer).get(reverse("hub:rfq_detail", args=[rfq.pk]))
    assert response.status_code == 200


def test_demo_gives_every_buyer_one_default_address_that_its_orders_carry():
    output = load_demo()
    assert "Delivery addresses: 4 created." in output
    for buyer in Organization.objects.filter(is_buyer=True):
        address = BuyerAddress.objects.get(buyer=buyer)
        assert address.is_default_shipping and address.is_default_billing
        assert address.city == buyer.city
    sample = Order.objects.filter(buyer__slug="kopi-kita").first()
    assert sample is not None and "Jl. Braga No. 41" in sample.ship_to_text
    assert "Delivery addresses: 0 created." in load_demo()
    assert BuyerAddress.objects.count() == 4
