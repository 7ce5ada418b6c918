"""The B2B hub's first slice: what a supplier offers (catalog, price lists) and to whom
(trading relationships). Everything here is owned by the supplier organization; a trading
relationship is visible to both its parties.

Money is a Decimal plus an ISO 4217 currency code. Quantities are whole units of the
product's unit of measure.
"""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jalin.tenancy.models import Organization, validate_currency

PRICE_MAX_DIGITS = 18
PRICE_DECIMAL_PLACES = 4
CREDIT_MAX_DIGITS = 18
CREDIT_DECIMAL_PLACES = 2


class Category(models.Model):
    """A node of a supplier's category tree."""

    supplier = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="hub_categories"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("parent category"),
    )
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("short name"), max_length=80)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "supplier"

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "slug"], name="hub_category_slug"),
        ]

    def __str__(self):
        return self.name


class TaxClass(models.TextChoices):
    STANDARD = "standard", _("Standard")
    REDUCED = "reduced", _("Reduced")
    EXEMPT = "exempt", _("Exempt")


class Product(models.Model):
    supplier = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="hub_products"
    )
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="products",
        verbose_name=_("category"),
    )
    unit = models.CharField(_("unit of measure"), max_length=20, default="pcs")
    pack_size = models.PositiveIntegerField(_("pack size"), default=1)
    min_order_quantity = models.PositiveIntegerField(_("minimum order quantity"), default=1)
    tax_class = models.CharField(
        _("tax class"), max_length=16, choices=TaxClass.choices, default=TaxClass.STANDARD
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "supplier"

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            # Also the (supplier, sku) index that SKU lookups and prefix search use.
            models.UniqueConstraint(fields=["supplier", "sku"], name="hub_product_sku"),
            models.CheckConstraint(condition=Q(pack_size__gte=1), name="hub_product_pack"),
            models.CheckConstraint(condition=Q(min_order_quantity__gte=1),
                                   name="hub_product_moq"),
        ]
        indexes = [
            models.Index(fields=["supplier", "category", "is_active"],
                         name="hub_product_sup_cat_act"),
            models.Index(fields=["supplier", "name"], name="hub_product_sup_name"),
        ]

    def __str__(self):
        return f"{self.sku} · {self.name}"


class PriceList(models.Model):
    """A supplier's prices: the base list (one per supplier) or a customer list that a trading
    relationship points to. Valid from/to are inclusive dates; empty means open-ended."""

    supplier = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="hub_price_lists"
    )
    name = models.CharField(_("name"), max_length=120)
    currency = models.CharField(
        _("currency"), max_length=3, default="IDR", validators=[validate_currency]
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    is_base = models.BooleanField(_("base price list"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "supplier"

    class Meta:
        ordering = ["-is_base", "name", "id"]
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        constraints = [
            models.UniqueConstraint(fields=["supplier"], condition=Q(is_base=True),
                                    name="hub_one_base_price_list"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
                name="hub_price_list_validity",
            ),
        ]

    def __str__(self):
        return self.name

    def is_valid_on(self, day):
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or self.valid_to >= day
        )


class PriceListItem(models.Model):
    """One price of a product in a list; several rows with different `min_quantity` make
    quantity breaks."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_items")
    min_quantity = models.PositiveIntegerField(_("from quantity"), default=1)
    unit_price = models.DecimalField(
        _("unit price"), max_digits=PRICE_MAX_DIGITS, decimal_places=PRICE_DECIMAL_PLACES,
        validators=[MinValueValidator(0)],
    )

    tenant_owner = "price_list__supplier"

    class Meta:
        ordering = ["product_id", "min_quantity"]
        verbose_name = _("price list item")
        constraints = [
            # Also the index the bulk price lookup (list + products of a page) uses.
            models.UniqueConstraint(fields=["price_list", "product", "min_quantity"],
                                    name="hub_price_item_break"),
            models.CheckConstraint(condition=Q(min_quantity__gte=1), name="hub_price_item_qty"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="hub_price_item_price"),
        ]

    def __str__(self):
        return f"{self.product_id} ≥{self.min_quantity}: {self.unit_price}"


class RelationshipStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class PaymentTerms(models.TextChoices):
    PREPAID = "prepaid", _("Prepaid")
    NET = "net", _("Net days")


class CatalogScope(models.TextChoices):
    ALL = "all", _("All products")
    CATEGORIES = "categories", _("Selected categories")


class TradingRelationship(models.Model):
    """A supplier's terms with one buyer organization: the seam of the many-to-many hub."""

    supplier = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="hub_customer_relationships"
    )
    buyer = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="hub_supplier_relationships"
    )
    status = models.CharField(_("status"), max_length=16, choices=RelationshipStatus.choices,
                              default=RelationshipStatus.ACTIVE)
    payment_terms = models.CharField(_("payment terms"), max_length=16,
                                     choices=PaymentTerms.choices, default=PaymentTerms.PREPAID)
    payment_days = models.PositiveSmallIntegerField(
        _("payment days"), default=0, help_text=_("N of \"net N days\"; 0 when prepaid.")
    )
    credit_limit = models.DecimalField(
        _("credit limit"), max_digits=CREDIT_MAX_DIGITS, decimal_places=CREDIT_DECIMAL_PLACES,
        default=0, validators=[MinValueValidator(0)],
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="IDR", validators=[validate_currency]
    )
    price_list = models.ForeignKey(
        PriceList, on_delete=models.PROTECT, null=True, blank=True,
        related_name="relationships", verbose_name=_("customer price list"),
    )
    catalog_scope = models.CharField(_("catalog"), max_length=16, choices=CatalogScope.choices,
                                     default=CatalogScope.ALL)
    categories = models.ManyToManyField(
        Category, blank=True, related_name="+", verbose_name=_("entitled categories")
    )
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_parties = ("supplier", "buyer")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("trading relationship")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "buyer"], name="hub_one_relationship"),
            models.CheckConstraint(condition=~Q(supplier=F("buyer")),
                                   name="hub_relationship_two_parties"),
            models.CheckConstraint(condition=Q(credit_limit__gte=0),
                                   name="hub_relationship_credit"),
        ]
        indexes = [models.Index(fields=["buyer", "status"], name="hub_rel_buyer_status")]

    def __str__(self):
        return f"{self.supplier} → {self.buyer}"

    @property
    def is_active(self):
        return self.status == RelationshipStatus.ACTIVE
