"""Demo data for sales quotes (called by `jalin demo`): for Sinar, an opportunity of PT Toko
Bangunan Sejahtera (a hub buyer) with a quote sent into its portal — lina sees it under
requests for quotation and can accept it into an order — and a draft quote for a customer off
the hub, to print as PDF. Created only when missing, so a second run changes nothing."""

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from jalin.crm.models import Account
from jalin.hub import pricing, selectors
from jalin.hub.models import Product, RelationshipStatus
from jalin.tenancy.models import Membership
from jalin.tenancy.services import TenancyError

from . import quotes
from .models import Opportunity
from .opportunities import opportunity_create

logger = logging.getLogger(__name__)

HUB_DEAL = "Renovasi gudang Toko Bangunan"
PDF_DEAL = "Perlengkapan proyek (penawaran PDF)"


def _products(supplier, relationship, count):
    candidates = list(Product.objects.filter(supplier=supplier, is_active=True)
                      .order_by("sku")[:40])
    if relationship is None:
        return candidates[:count]
    prices = pricing.prices_for(relationship=relationship, on_date=timezone.localdate(),
                                product_ids=[p.pk for p in candidates], quantity=10)
    return [product for product in candidates if product.pk in prices][:count]


def _deal(supplier, actor, account, name, products, extra_lines=()):
    existing = Opportunity.objects.filter(organization=supplier, name=name).first()
    if existing is not None:
        return existing, False
    lines = [{"product": product, "description": product.name[:200],
              "quantity": max(product.min_order_quantity, 10) * index,
              "unit_price": "100000", "discount_percent": "0"}
             for index, product in enumerate(products, 1)] + list(extra_lines)
    return opportunity_create(
        organization=supplier, actor=actor, name=name, account=account,
        close_date=timezone.localdate() + datetime.timedelta(days=21), lines=lines,
        next_step="Kirim penawaran"), True


def seed_quotes(*, supplier, buyer, users):
    """Returns how many quotes were created."""
    seller = users.get("sari") or users["budi"]
    membership = Membership.objects.filter(organization=supplier, user=seller,
                                           is_active=True).first()
    created = 0
    account = Account.objects.filter(organization=supplier, hub_organization=buyer,
                                     archived_at__isnull=True).order_by("id").first()
    relationship = (selectors.relationships_for_supplier(supplier=supplier)
                    .filter(buyer=buyer, status=RelationshipStatus.ACTIVE).first())
    if account is not None and membership is not None and relationship is not None:
        opportunity, _new = _deal(supplier, seller, account, HUB_DEAL,
                                  _products(supplier, relationship, 2))
        if not opportunity.quotes.exists() and opportunity.lines.exists():
            quote = quotes.sales_quote_create(opportunity=opportunity, actor=seller,
                                              note="Harga berlaku untuk pengiriman ke gudang.")
            created += 1
            try:
                with transaction.atomic():
                    quotes.sales_quote_send(quote=quote, actor=seller, membership=membership)
            except TenancyError as error:  # the demo goes on; the quote stays a draft
                logger.warning("Demo quote %s not sent: %s", quote.label, error.message)
    other = (Account.objects.filter(organization=supplier, hub_organization__isnull=True,
                                    archived_at__isnull=True).order_by("id").first())
    if other is not None:
        opportunity, _new = _deal(supplier, seller, other, PDF_DEAL, _products(supplier, None, 1),
                                  extra_lines=[{"description": "Jasa pemasangan", "quantity": 1,
                                                "unit_price": "2500000",
                                                "discount_percent": "0"}])
        if not opportunity.quotes.exists():
            quotes.sales_quote_create(opportunity=opportunity, actor=seller)
            created += 1
    return created
