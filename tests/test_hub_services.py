"""Hub catalog services: validation, cross-organization references, versions, audit, events."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from jalin.core.events_models import Event
from jalin.core.models import AuditLog
from jalin.hub import selectors, services
from jalin.hub.models import CatalogScope, PaymentTerms, Product
from jalin.hub.testing import link_buyer, make_price_list, make_product, set_price
from jalin.tenancy.services import StaleVersion
from tests.conftest import make_org


@pytest.fixture
def buyer(db):
    return make_org("buyer-co", is_supplier=False, is_buyer=True)


def test_product_create_audits_and_emits(org, owner):
    product = make_product(org, owner, " SKU-1 ", "Paper A4", pack_size=5)
    assert product.sku == "SKU-1"
    assert AuditLog.objects.filter(organization=org, action="hub.product.created",
                                   object_id=str(product.pk)).exists()
    event = Event.objects.get(organization=org, type="hub.product.created")
    assert event.payload == {"product_id": product.pk, "sku": "SKU-1", "variant_of_id": None}


def test_duplicate_sku_is_refused_per_supplier_only(org, owner, other_org):
    make_product(org, owner, "SKU-1")
    with pytest.raises(services.HubError) as error:
        make_product(org, owner, "SKU-1")
    assert error.value.code == "duplicate_sku" and error.value.field == "sku"
    other_org.is_supplier = True
    other_org.save()
    make_product(other_org, owner, "SKU-1")  # another supplier may use the same SKU
    assert Product.objects.filter(sku="SKU-1").count() == 2


def test_bad_product_input_changes_nothing(org, owner):
    with pytest.raises(ValidationError):
        make_product(org, owner, "SKU-1", "", tax_class="luxury")
    with pytest.raises(ValidationError):
        make_product(org, owner, "SKU-2", "x", pack_size=0)
    assert not Product.objects.exists()
    assert not Event.objects.filter(type__startswith="hub.").exists()


def test_product_update_needs_current_version(org, owner):
    product = make_product(org, owner, "SKU-1")
    updated = services.product_update(product=product, actor=owner, version=1, name="New")
    assert updated.version == 2 and updated.name == "New"
    with pytest.raises(StaleVersion):
        services.product_update(product=product, actor=owner, version=1, name="Lost update")
    product.refresh_from_db()
    assert product.name == "New"
    assert Event.objects.filter(type="hub.product.updated").count() == 1


def test_foreign_category_is_refused(org, owner, other_org):
    other_org.is_supplier = True
    other_org.save()
    foreign = services.category_create(supplier=other_org, actor=owner, name="Theirs")
    with pytest.raises(services.HubError) as error:
        make_product(org, owner, "SKU-1", category=foreign)
    assert error.value.field == "category"
    product = make_product(org, owner, "SKU-2")
    with pytest.raises(services.HubError):
        services.product_update(product=product, actor=owner, version=1, category=foreign)


def test_category_tree_refuses_cycles(org, owner):
    root = services.category_create(supplier=org, actor=owner, name="Office")
    child = services.category_create(supplier=org, actor=owner, name="Paper", parent=root)
    assert child.slug == "paper"
    with pytest.raises(services.HubError) as error:
        services.category_update(category=root, actor=owner, version=1, parent=child)
    assert error.value.code == "cycle"
    with pytest.raises(services.HubError) as error:
        services.category_create(supplier=org, actor=owner, name="Paper")
    assert error.value.code == "duplicate_slug"


def test_one_base_price_list_per_supplier(org, owner):
    make_price_list(org, owner, "Base", is_base=True)
    with pytest.raises(services.HubError) as error:
        make_price_list(org, owner, "Second base", is_base=True)
    assert error.value.code == "base_exists"
    make_price_list(org, owner, "Customer list")


def test_price_list_dates_must_be_in_order(org, owner):
    import datetime

    with pytest.raises(services.HubError) as error:
        make_price_list(org, owner, "Odd", valid_from=datetime.date(2026, 2, 1),
                        valid_to=datetime.date(2026, 1, 1))
    assert error.value.field == "valid_to"


def test_price_item_upsert_replaces_and_refuses_foreign_products(org, owner, other_org):
    base = make_price_list(org, owner, "Base", is_base=True)
    product = make_product(org, owner, "SKU-1")
    set_price(base, product, "100", owner)
    item = set_price(base, product, "120.5", owner)
    assert base.items.count() == 1 and item.unit_price == Decimal("120.5")
    other_org.is_supplier = True
    other_org.save()
    foreign = make_product(other_org, owner, "X")
    with pytest.raises(services.HubError):
        set_price(base, foreign, "1", owner)
    with pytest.raises(services.HubError):
        set_price(base, product, "-1", owner)
    with pytest.raises(services.HubError):
        services.price_list_item_upsert(price_list=base, product=product, min_quantity=0,
                                        unit_price="1", actor=owner)


def test_relationship_only_with_buyers_and_once(org, owner, buyer, other_org):
    relationship = link_buyer(org, buyer, owner, payment_terms=PaymentTerms.NET,
                              payment_days=30, credit_limit=Decimal("5000000"))
    assert relationship.currency == "IDR"
    assert Event.objects.filter(organization=org, type="hub.relationship.created").exists()
    with pytest.raises(services.HubError) as error:
        link_buyer(org, buyer, owner)
    assert error.value.code == "already_customer"
    not_a_buyer = make_org("only-supplier")
    with pytest.raises(services.HubError) as error:
        link_buyer(org, not_a_buyer, owner)
    assert error.value.code == "unknown_buyer"
    with pytest.raises(services.HubError):
        services.find_buyer("only-supplier")
    assert services.find_buyer("buyer-co") == buyer


def test_relationship_refuses_foreign_price_list_and_bad_terms(org, owner, buyer, other_org):
    other_org.is_supplier = True
    other_org.save()
    foreign_list = make_price_list(other_org, owner, "Theirs")
    with pytest.raises(services.HubError) as error:
        link_buyer(org, buyer, owner, price_list=foreign_list)
    assert error.value.field == "price_list"
    with pytest.raises(services.HubError) as error:
        link_buyer(org, buyer, owner, payment_terms=PaymentTerms.NET, payment_days=0)
    assert error.value.field == "payment_days"
    with pytest.raises(services.HubError) as error:
        link_buyer(org, buyer, owner, catalog_scope=CatalogScope.CATEGORIES)
    assert error.value.field == "categories"
    with pytest.raises(ValidationError):
        link_buyer(org, buyer, owner, credit_limit=Decimal("-1"))


def test_relationship_update_versions_and_prepaid_clears_days(org, owner, buyer):
    relationship = link_buyer(org, buyer, owner, payment_terms=PaymentTerms.NET,
                              payment_days=30)
    updated = services.relationship_update(relationship=relationship, actor=owner, version=1,
                                           payment_terms=PaymentTerms.PREPAID)
    assert updated.payment_days == 0 and updated.version == 2
    with pytest.raises(StaleVersion):
        services.relationship_update(relationship=relationship, actor=owner, version=1,
                                     status="suspended")


def test_entitlement_by_category_includes_subcategories(org, owner, buyer):
    office = services.category_create(supplier=org, actor=owner, name="Office")
    paper = services.category_create(supplier=org, actor=owner, name="Paper", parent=office)
    tools = services.category_create(supplier=org, actor=owner, name="Tools")
    in_office = make_product(org, owner, "P-1", category=paper)
    make_product(org, owner, "T-1", category=tools)
    make_product(org, owner, "U-1")  # uncategorised
    make_product(org, owner, "P-2", category=paper, is_active=False)
    relationship = link_buyer(org, buyer, owner, catalog_scope=CatalogScope.CATEGORIES,
                              categories=[office])
    visible = list(selectors.entitled_products(relationship=relationship))
    assert visible == [in_office]
    everything = services.relationship_update(relationship=relationship, actor=owner,
                                              version=1, catalog_scope=CatalogScope.ALL)
    assert selectors.entitled_products(relationship=everything).count() == 3


def test_buyer_sees_only_active_relationships(org, owner, buyer):
    relationship = link_buyer(org, buyer, owner)
    assert list(selectors.suppliers_for_buyer(buyer=buyer)) == [relationship]
    services.relationship_update(relationship=relationship, actor=owner, version=1,
                                 status="suspended")
    assert not selectors.suppliers_for_buyer(buyer=buyer).exists()
    # The supplier-side list never shows relationships in which the org is the buyer.
    assert not selectors.relationships_for_supplier(supplier=buyer).exists()
