"""The B2B hub's first slice: what a supplier offers (catalog, price lists) and to whom
(trading relationships). Everything here is owned by the supplier organization; a trading
relationship is visible to both its parties.

Money is a Decimal plus an ISO 4217 currency code. Quantities are whole units of the
product's unit of measure.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jalin.core.storage import private_storage
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
    variant_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="variants",
        verbose_name=_("variant of"),
        help_text=_("The product family this product is a variant of (one level only)."),
    )
    # {name: value}, at most MAX_ATTRIBUTES; mirrored into ProductAttribute rows (by the
    # services) so that filtering by attribute is a plain index lookup on every database.
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # What one unit costs the supplier (optional; promotion analysis shows margin with it).
    unit_cost = models.DecimalField(
        _("unit cost"), max_digits=PRICE_MAX_DIGITS, decimal_places=PRICE_DECIMAL_PLACES,
        null=True, blank=True, validators=[MinValueValidator(0)],
    )
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
    group = models.ForeignKey(
        "CustomerGroup", on_delete=models.PROTECT, null=True, blank=True,
        related_name="relationships", verbose_name=_("customer group"),
    )
    catalog_scope = models.CharField(_("catalog"), max_length=16, choices=CatalogScope.choices,
                                     default=CatalogScope.ALL)
    categories = models.ManyToManyField(
        Category, blank=True, related_name="+", verbose_name=_("entitled categories")
    )
    tax_exempt = models.BooleanField(_("tax exempt"), default=False,
                                     help_text=_("Orders of this buyer carry no tax."))
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


# --- Supplier and buyer settings -----------------------------------------------------------


class InvoicingMode(models.TextChoices):
    PER_SHIPMENT = "per_shipment", _("One invoice per shipment")
    PER_ORDER = "per_order", _("One invoice per order, when it is confirmed")


class SupplierSettings(models.Model):
    """How a supplier sells: whether its prices include tax, whether buyers see stock
    numbers (otherwise only "in stock / low / out"), and when invoices are issued."""

    supplier = models.OneToOneField(Organization, on_delete=models.CASCADE,
                                    related_name="hub_supplier_settings")
    prices_include_tax = models.BooleanField(_("prices include tax"), default=False)
    show_stock_quantity = models.BooleanField(_("show stock numbers to buyers"), default=False)
    return_window_days = models.PositiveSmallIntegerField(
        _("return window (days)"), default=30,
        help_text=_("Days after delivery in which a buyer may request a return; 0: no "
                    "returns."))
    invoicing = models.CharField(_("invoicing"), max_length=16, choices=InvoicingMode.choices,
                                 default=InvoicingMode.PER_SHIPMENT)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "supplier"

    class Meta:
        verbose_name = _("supplier settings")

    def __str__(self):
        return f"{self.supplier_id} settings"


class BuyerSettings(models.Model):
    """A buyer organization's ordering rules: orders above `approval_threshold` (in
    `currency`) wait for a buyer approver. Empty threshold: no approval needed."""

    buyer = models.OneToOneField(Organization, on_delete=models.CASCADE,
                                 related_name="hub_buyer_settings")
    approval_threshold = models.DecimalField(
        _("approval threshold"), max_digits=CREDIT_MAX_DIGITS,
        decimal_places=CREDIT_DECIMAL_PLACES, null=True, blank=True,
        validators=[MinValueValidator(0)],
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="IDR", validators=[validate_currency]
    )
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "buyer"

    class Meta:
        verbose_name = _("buyer settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(approval_threshold__isnull=True) | Q(approval_threshold__gte=0),
                name="hub_buyer_threshold"),
        ]

    def __str__(self):
        return f"{self.buyer_id} settings"


class TaxRule(models.Model):
    """A supplier's tax rate (percent) for one tax class. Missing rules fall back to
    `jalin.hub.tax.DEFAULT_RATES`."""

    supplier = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                 related_name="hub_tax_rules")
    tax_class = models.CharField(_("tax class"), max_length=16, choices=TaxClass.choices)
    rate = models.DecimalField(_("rate (%)"), max_digits=7, decimal_places=4,
                               validators=[MinValueValidator(0)])
    name = models.CharField(_("name"), max_length=60, default="PPN")

    tenant_owner = "supplier"

    class Meta:
        ordering = ["tax_class"]
        verbose_name = _("tax rule")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "tax_class"], name="hub_tax_rule_class"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=100),
                                   name="hub_tax_rule_rate"),
        ]

    def __str__(self):
        return f"{self.tax_class} {self.rate}%"


# --- Warehouses and stock ------------------------------------------------------------------


class Warehouse(models.Model):
    supplier = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                 related_name="hub_warehouses")
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "supplier"

    class Meta:
        ordering = ["code", "id"]
        verbose_name = _("warehouse")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "code"], name="hub_warehouse_code"),
        ]

    def __str__(self):
        return f"{self.code} · {self.name}"


class StockLevel(models.Model):
    """Units of one product in one warehouse. `available = on_hand - reserved`; the database
    refuses any row where that would go negative."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="stock")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock")
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    low_stock_threshold = models.IntegerField(_("low-stock threshold"), default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "warehouse__supplier"

    class Meta:
        ordering = ["warehouse_id", "product_id"]
        verbose_name = _("stock level")
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "product"], name="hub_stock_one_row"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="hub_stock_on_hand"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="hub_stock_reserved"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")),
                                   name="hub_stock_reserved_le_on_hand"),
            models.CheckConstraint(condition=Q(low_stock_threshold__gte=0),
                                   name="hub_stock_threshold"),
        ]
        indexes = [models.Index(fields=["product", "warehouse"], name="hub_stock_product")]

    def __str__(self):
        return f"{self.warehouse_id}/{self.product_id}: {self.on_hand}"

    @property
    def available(self):
        return self.on_hand - self.reserved

    @property
    def is_low(self):
        return self.low_stock_threshold > 0 and self.available <= self.low_stock_threshold


class MovementKind(models.TextChoices):
    ADJUSTMENT = "adjustment", _("Adjustment")
    RESERVATION = "reservation", _("Reservation")
    RELEASE = "release", _("Release")
    SHIPMENT = "shipment", _("Shipment")
    RETURN = "return", _("Return")


class StockMovement(models.Model):
    """The stock ledger: every change of on_hand or reserved, with why and who."""

    stock = models.ForeignKey(StockLevel, on_delete=models.CASCADE, related_name="movements")
    kind = models.CharField(max_length=16, choices=MovementKind.choices)
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    order = models.ForeignKey("Order", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "stock__warehouse__supplier"

    class Meta:
        ordering = ["-id"]
        verbose_name = _("stock movement")

    def __str__(self):
        return f"{self.kind} {self.on_hand_delta}/{self.reserved_delta}"


# --- Carts ---------------------------------------------------------------------------------


class Cart(models.Model):
    """One cart per (buyer organization, supplier, user). Lines hold quantities only: the
    price is computed at checkout from the buyer's relationship, never taken from input."""

    buyer = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="hub_carts")
    supplier = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="hub_carts")
    updated_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "buyer"

    class Meta:
        ordering = ["supplier_id", "id"]
        verbose_name = _("cart")
        constraints = [
            models.UniqueConstraint(fields=["buyer", "supplier", "user"], name="hub_one_cart"),
        ]

    def __str__(self):
        return f"cart {self.pk}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))

    tenant_owner = "cart__buyer"

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="hub_cart_line_product"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="hub_cart_line_qty"),
        ]

    def __str__(self):
        return f"{self.product_id} × {self.quantity}"


# --- Saved lists ---------------------------------------------------------------------------


class SavedList(models.Model):
    """A buyer's named list of products of one supplier with default quantities ("favourites",
    requisition list): private to its owner, or shared with the buyer organization. Never
    visible to the supplier."""

    buyer = models.ForeignKey(Organization, on_delete=models.CASCADE,
                              related_name="hub_saved_lists")
    supplier = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="hub_saved_lists")
    name = models.CharField(_("name"), max_length=120)
    shared = models.BooleanField(_("shared with my organization"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "buyer"

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved list")
        constraints = [
            models.UniqueConstraint(fields=["buyer", "supplier", "owner", "name"],
                                    name="hub_saved_list_name"),
        ]
        indexes = [
            models.Index(fields=["buyer", "owner", "id"], name="hub_saved_list_owner"),
            models.Index(fields=["buyer", "shared", "id"], name="hub_saved_list_shared"),
        ]

    def __str__(self):
        return self.name


class SavedListLine(models.Model):
    saved_list = models.ForeignKey(SavedList, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "saved_list__buyer"

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["saved_list", "product"],
                                    name="hub_saved_list_product"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="hub_saved_list_qty"),
        ]

    def __str__(self):
        return f"{self.product_id} × {self.quantity}"


# --- Orders --------------------------------------------------------------------------------


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    CREDIT_HOLD = "credit_hold", _("Credit hold")
    CONFIRMED = "confirmed", _("Confirmed")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# Orders in these states count towards the buyer's credit exposure.
OPEN_STATUSES = (
    OrderStatus.SUBMITTED, OrderStatus.AWAITING_APPROVAL, OrderStatus.CONFIRMED,
    OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED,
)


class Order(models.Model):
    supplier = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                 related_name="hub_orders_received")
    buyer = models.ForeignKey(Organization, on_delete=models.PROTECT,
                              related_name="hub_orders_placed")
    relationship = models.ForeignKey(TradingRelationship, on_delete=models.PROTECT,
                                     related_name="orders")
    number = models.PositiveIntegerField(_("number"))
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                  null=True, related_name="+")
    entered_by_supplier = models.BooleanField(default=False)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices,
                              default=OrderStatus.DRAFT)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    prices_include_tax = models.BooleanField(default=False)
    tax_exempt = models.BooleanField(default=False)
    total_net = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                    decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    total_tax = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                    decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    total_gross = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                      decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    buyer_reference = models.CharField(_("your reference"), max_length=80, blank=True)
    note = models.TextField(_("note"), blank=True)
    needs_approval = models.BooleanField(default=False)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    credit_released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                           null=True, blank=True, related_name="+")
    credit_released_at = models.DateTimeField(null=True, blank=True)
    stock_reserved = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # Gross amount of this order already invoiced (kept by the invoicing service with the
    # order locked): credit exposure counts an open order's uninvoiced remainder plus the
    # balance of its invoices, so nothing is counted twice.
    invoiced_gross = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                         decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    # The accepted quote this order was made from (at the quoted prices); one order per quote.
    # Where the goods go: the buyer's address, and its text as it was when the order was placed
    # (later edits of the address never change a past order).
    ship_to = models.ForeignKey("BuyerAddress", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    ship_to_text = models.TextField(_("ship to"), blank=True, default="")
    quote = models.OneToOneField("Quote", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="order")
    version = models.PositiveIntegerField(default=1)

    tenant_parties = ("supplier", "buyer")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("order")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "number"], name="hub_order_number"),
            models.UniqueConstraint(fields=["buyer", "idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False),
                                    name="hub_order_idempotency"),
            models.CheckConstraint(condition=~Q(supplier=F("buyer")),
                                   name="hub_order_two_parties"),
        ]
        indexes = [
            models.Index(fields=["supplier", "status", "id"], name="hub_order_sup_status"),
            # Sales history by month (forecasting), promotion analysis and segments' purchase
            # behaviour: the supplier's orders by submission time.
            models.Index(fields=["supplier", "submitted_at"], name="hub_order_sup_submitted"),
            models.Index(fields=["buyer", "status", "id"], name="hub_order_buyer_status"),
            models.Index(fields=["relationship", "status"], name="hub_order_rel_status"),
        ]

    def __str__(self):
        return f"#{self.number}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(_("unit"), max_length=20)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=PRICE_MAX_DIGITS,
                                     decimal_places=PRICE_DECIMAL_PLACES)
    tax_class = models.CharField(max_length=16, choices=TaxClass.choices)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4)
    line_net = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                   decimal_places=CREDIT_DECIMAL_PLACES)
    line_tax = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                   decimal_places=CREDIT_DECIMAL_PLACES)
    line_gross = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                     decimal_places=CREDIT_DECIMAL_PLACES)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    shipped_quantity = models.PositiveIntegerField(default=0)
    # Units already billed on an invoice (kept by jalin.hub.invoicing with the order locked):
    # a unit is never invoiced twice.
    invoiced_quantity = models.PositiveIntegerField(default=0)
    # The promotion that priced this line (`unit_price` is already discounted) and what it
    # took off the line's amount before tax (list price × quantity − unit_price × quantity).
    promotion = models.ForeignKey("Promotion", on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    promotion_discount = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                             decimal_places=CREDIT_DECIMAL_PLACES, default=0)

    tenant_parties = ("order__supplier", "order__buyer")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="hub_order_line_qty"),
            models.CheckConstraint(condition=Q(shipped_quantity__lte=F("quantity")),
                                   name="hub_order_line_shipped"),
            models.CheckConstraint(condition=Q(invoiced_quantity__lte=F("quantity")),
                                   name="hub_order_line_invoiced"),
        ]

    def __str__(self):
        return f"{self.sku} × {self.quantity}"

    @property
    def open_quantity(self):
        return self.quantity - self.shipped_quantity


class OrderLineAllocation(models.Model):
    """Part of an order line reserved in (and shipped from) one warehouse. A line's
    allocations add up to its quantity, and their shipped quantities to the line's; a line
    that one warehouse could fill has exactly one. `OrderLine.warehouse` names the first
    (primary) allocation's warehouse."""

    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE,
                                   related_name="allocations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    shipped_quantity = models.PositiveIntegerField(_("shipped"), default=0)

    tenant_parties = ("order_line__order__supplier", "order_line__order__buyer")

    class Meta:
        ordering = ["order_line_id", "id"]
        verbose_name = _("order line allocation")
        constraints = [
            models.UniqueConstraint(fields=["order_line", "warehouse"],
                                    name="hub_line_alloc_warehouse"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="hub_line_alloc_qty"),
            models.CheckConstraint(condition=Q(shipped_quantity__lte=F("quantity")),
                                   name="hub_line_alloc_shipped"),
        ]
        indexes = [models.Index(fields=["warehouse", "order_line"],
                                name="hub_line_alloc_wh")]

    def __str__(self):
        return f"{self.order_line_id}@{self.warehouse_id} × {self.quantity}"

    @property
    def open_quantity(self):
        return self.quantity - self.shipped_quantity


class ProductSalesMonth(models.Model):
    """Units and net revenue of one supplier product in one month: the order lines of the
    supplier's counted orders (not draft, not cancelled) summed by the month the order was
    submitted (local time, Asia/Jakarta by default) and currency.

    A rollup for the demand history (`history_selectors`), so that page does not sum millions
    of order lines on every view. Kept by `jalin.hub.sales_rollup` in the transaction that
    places or cancels the order; rebuilt (batched, per supplier and month) by
    `jalin hub_sales_rollup`. Returns and credit notes are not netted out, as before: demand
    as ordered."""

    supplier = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # first day of the month
    currency = models.CharField(max_length=3)
    quantity = models.BigIntegerField(default=0)
    net = models.DecimalField(max_digits=CREDIT_MAX_DIGITS + 4,
                              decimal_places=CREDIT_DECIMAL_PLACES, default=0)

    tenant_owner = "supplier"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["supplier", "product", "month", "currency"],
                                    name="hub_product_month_once"),
        ]
        indexes = [
            # Top products of a period: the supplier's rows of those months.
            models.Index(fields=["supplier", "month"], name="hub_product_month_by_month"),
        ]

    def __str__(self):
        return f"{self.product_id} {self.month:%Y-%m} {self.quantity}"


class OrderStatusChange(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    tenant_parties = ("order__supplier", "order__buyer")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    number = models.PositiveSmallIntegerField(default=1)
    carrier = models.CharField(_("carrier"), max_length=80, blank=True)
    tracking = models.CharField(_("tracking number"), max_length=120, blank=True)
    shipped_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, related_name="+")
    shipped_at = models.DateTimeField(default=timezone.now)

    tenant_parties = ("order__supplier", "order__buyer")

    class Meta:
        ordering = ["number", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="hub_shipment_number"),
        ]

    def __str__(self):
        return f"shipment {self.number}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    tenant_parties = ("shipment__order__supplier", "shipment__order__buyer")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="hub_shipment_line_qty"),
        ]

    def __str__(self):
        return f"{self.order_line_id} × {self.quantity}"


# --- Invoices, credit notes and payments -----------------------------------------------------


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class InvoiceStatus(models.TextChoices):
    # An invoice is open until its balance is zero; a credit note is open until all of it is
    # applied to invoices (or refunded).
    OPEN = "open", _("Open")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")


class Invoice(models.Model):
    """An invoice (per shipment or per order) or a credit note, issued by the supplier to the
    buyer. Never deleted and never edited once issued: a mistake is corrected by a credit note.
    `number` is gapless per (supplier, kind). Amounts are gross unless named net/tax;
    `amount_settled` is what payments and applied credit notes (for an invoice) or
    applications (for a credit note) have taken off; balance = total_gross − amount_settled."""

    supplier = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                 related_name="hub_invoices_issued")
    buyer = models.ForeignKey(Organization, on_delete=models.PROTECT,
                              related_name="hub_invoices_received")
    relationship = models.ForeignKey(TradingRelationship, on_delete=models.PROTECT,
                                     related_name="invoices")
    kind = models.CharField(_("kind"), max_length=16, choices=InvoiceKind.choices,
                            default=InvoiceKind.INVOICE)
    number = models.PositiveIntegerField(_("number"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="invoices")
    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="invoices")
    # For a credit note: the invoice it corrects (may be empty for a goodwill credit).
    credited_invoice = models.ForeignKey("self", on_delete=models.PROTECT, null=True,
                                         blank=True, related_name="credit_notes")
    status = models.CharField(_("status"), max_length=16, choices=InvoiceStatus.choices,
                              default=InvoiceStatus.OPEN)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    prices_include_tax = models.BooleanField(default=False)
    tax_exempt = models.BooleanField(default=False)
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    total_net = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                    decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    total_tax = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                    decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    total_gross = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                      decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    amount_settled = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                         decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    note = models.TextField(_("note"), blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                  null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    tenant_parties = ("supplier", "buyer")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("invoice")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "kind", "number"],
                                    name="hub_invoice_number"),
            # One invoice per shipment.
            models.UniqueConstraint(fields=["shipment"],
                                    condition=Q(kind="invoice", shipment__isnull=False),
                                    name="hub_invoice_per_shipment"),
            models.CheckConstraint(condition=~Q(supplier=F("buyer")),
                                   name="hub_invoice_two_parties"),
            models.CheckConstraint(condition=Q(total_gross__gte=0),
                                   name="hub_invoice_total"),
            models.CheckConstraint(
                condition=Q(amount_settled__gte=0) & Q(amount_settled__lte=F("total_gross")),
                name="hub_invoice_settled"),
            models.CheckConstraint(condition=Q(due_date__gte=F("issue_date")),
                                   name="hub_invoice_due"),
        ]
        indexes = [
            models.Index(fields=["supplier", "kind", "id"], name="hub_inv_sup_kind"),
            models.Index(fields=["buyer", "kind", "id"], name="hub_inv_buyer_kind"),
            models.Index(fields=["supplier", "status", "due_date"], name="hub_inv_sup_due"),
            models.Index(fields=["relationship", "status"], name="hub_inv_rel_status"),
        ]

    def __str__(self):
        prefix = "CN" if self.kind == InvoiceKind.CREDIT_NOTE else "INV"
        return f"{prefix}-{self.number}"

    @property
    def balance(self):
        return self.total_gross - self.amount_settled


class InvoiceLine(models.Model):
    """A line of an invoice or credit note, snapshotting the order line it bills (or credits):
    quantities and amounts are positive on both kinds; the kind gives the sign."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="invoice_lines")
    # On a credit note: the invoice line it credits (what is still creditable is that line's
    # quantity less its earlier credit lines).
    credited_line = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="credit_lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    name = models.CharField(_("description"), max_length=200)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=PRICE_MAX_DIGITS,
                                     decimal_places=PRICE_DECIMAL_PLACES)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4)
    line_net = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                   decimal_places=CREDIT_DECIMAL_PLACES)
    line_tax = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                   decimal_places=CREDIT_DECIMAL_PLACES)
    line_gross = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                     decimal_places=CREDIT_DECIMAL_PLACES)

    tenant_parties = ("invoice__supplier", "invoice__buyer")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="hub_invoice_line_qty"),
        ]

    def __str__(self):
        return f"{self.sku} × {self.quantity}"


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    PROVIDER = "provider", _("Online payment")
    CASH = "cash", _("Cash")
    OTHER = "other", _("Other")


class Payment(models.Model):
    """Money received by the supplier from the buyer, recorded by staff or reported by a
    payment provider's webhook. Allocated to invoices by `PaymentAllocation`; what is not
    allocated stays on the buyer's account as a credit (`amount − amount_allocated`).
    A provider payment is unique per (provider, provider_reference): a replayed webhook
    cannot record it twice."""

    supplier = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                 related_name="hub_payments_received")
    buyer = models.ForeignKey(Organization, on_delete=models.PROTECT,
                              related_name="hub_payments_made")
    relationship = models.ForeignKey(TradingRelationship, on_delete=models.PROTECT,
                                     related_name="payments")
    number = models.PositiveIntegerField(_("number"))
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices,
                              default=PaymentMethod.BANK_TRANSFER)
    amount = models.DecimalField(_("amount"), max_digits=CREDIT_MAX_DIGITS,
                                 decimal_places=CREDIT_DECIMAL_PLACES)
    amount_allocated = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                           decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    received_on = models.DateField(_("received on"))
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    provider = models.CharField(max_length=40, blank=True)
    provider_reference = models.CharField(max_length=120, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    tenant_parties = ("supplier", "buyer")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("payment")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "number"], name="hub_payment_number"),
            models.UniqueConstraint(fields=["provider", "provider_reference"],
                                    condition=~Q(provider=""),
                                    name="hub_payment_provider_ref"),
            models.UniqueConstraint(fields=["supplier", "idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False),
                                    name="hub_payment_idempotency"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="hub_payment_amount"),
            models.CheckConstraint(
                condition=Q(amount_allocated__gte=0) & Q(amount_allocated__lte=F("amount")),
                name="hub_payment_allocated"),
        ]
        indexes = [
            models.Index(fields=["supplier", "id"], name="hub_pay_supplier"),
            models.Index(fields=["buyer", "id"], name="hub_pay_buyer"),
            models.Index(fields=["relationship", "received_on"], name="hub_pay_rel"),
        ]

    def __str__(self):
        return f"PAY-{self.number}"

    @property
    def unallocated(self):
        return self.amount - self.amount_allocated


class PaymentAllocation(models.Model):
    """Part of a payment, or of a credit note, applied to one invoice. Exactly one source."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="allocations")
    credit_note = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="applications")
    amount = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                 decimal_places=CREDIT_DECIMAL_PLACES)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    tenant_parties = ("invoice__supplier", "invoice__buyer")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="hub_allocation_amount"),
            models.CheckConstraint(
                condition=(Q(payment__isnull=False) & Q(credit_note__isnull=True))
                | (Q(payment__isnull=True) & Q(credit_note__isnull=False)),
                name="hub_allocation_one_source"),
        ]
        indexes = [models.Index(fields=["payment"], name="hub_alloc_payment"),
                   models.Index(fields=["credit_note"], name="hub_alloc_credit")]

    def __str__(self):
        return f"{self.amount} → {self.invoice_id}"


class InvoiceReminder(models.Model):
    """One overdue reminder of an invoice at one level (1st, 2nd, final ...). Unique per
    (invoice, level), so the daily job sends each level at most once, even when re-run."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    level = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    tenant_parties = ("invoice__supplier", "invoice__buyer")

    class Meta:
        ordering = ["invoice", "level"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "level"], name="hub_invoice_reminder"),
        ]

    def __str__(self):
        return f"{self.invoice_id} reminder {self.level}"


# --- Returns (RMA) ---------------------------------------------------------------------------


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    RECEIVED = "received", _("Received")
    CREDITED = "credited", _("Credited")


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", _("Damaged")
    DEFECTIVE = "defective", _("Defective")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    NOT_NEEDED = "not_needed", _("No longer needed")
    OTHER = "other", _("Other")


class ReturnCondition(models.TextChoices):
    AS_NEW = "as_new", _("As new")
    OPENED = "opened", _("Opened")
    DAMAGED = "damaged", _("Damaged")


class ReturnRequest(models.Model):
    """A buyer's request to send back delivered goods (an RMA). Numbered gapless per supplier
    (`numbering.RETURN`). requested → approved | rejected | cancelled; approved → received
    (goods back, restocked) → credited (credit note issued)."""

    supplier = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                 related_name="hub_returns_received")
    buyer = models.ForeignKey(Organization, on_delete=models.PROTECT,
                              related_name="hub_returns_requested")
    relationship = models.ForeignKey(TradingRelationship, on_delete=models.PROTECT,
                                     related_name="returns")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    number = models.PositiveIntegerField(_("number"))
    status = models.CharField(_("status"), max_length=16, choices=ReturnStatus.choices,
                              default=ReturnStatus.REQUESTED)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    buyer_note = models.TextField(_("buyer's note"), blank=True)
    supplier_note = models.TextField(_("supplier's note"), blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    received_at = models.DateTimeField(null=True, blank=True)
    restock_warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, null=True,
                                          blank=True, related_name="+",
                                          verbose_name=_("restock warehouse"))
    # The (first) credit note; a return billed on several invoices gets one credit note per
    # invoice, all listed in `credits`.
    credit_note = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    credited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    credited_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_parties = ("supplier", "buyer")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("return")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "number"], name="hub_return_number"),
            models.UniqueConstraint(fields=["buyer", "idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False),
                                    name="hub_return_idempotency"),
            models.CheckConstraint(condition=~Q(supplier=F("buyer")),
                                   name="hub_return_two_parties"),
        ]
        indexes = [
            models.Index(fields=["supplier", "status", "id"], name="hub_return_sup_status"),
            models.Index(fields=["buyer", "status", "id"], name="hub_return_buyer_status"),
        ]

    def __str__(self):
        return f"RMA-{self.number}"


class ReturnLine(models.Model):
    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE,
                                       related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT,
                                   related_name="return_lines")
    quantity = models.PositiveIntegerField(_("quantity"))
    reason = models.CharField(_("reason"), max_length=16, choices=ReturnReason.choices,
                              default=ReturnReason.OTHER)
    # Filled when the goods arrive: how many came back, in what state, back into stock?
    received_quantity = models.PositiveIntegerField(_("received"), null=True, blank=True)
    condition = models.CharField(_("condition"), max_length=16,
                                 choices=ReturnCondition.choices, blank=True)
    restock = models.BooleanField(_("restock"), default=False)

    tenant_parties = ("return_request__supplier", "return_request__buyer")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["return_request", "order_line"],
                                    name="hub_return_line_once"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="hub_return_line_qty"),
            models.CheckConstraint(
                condition=Q(received_quantity__isnull=True)
                | Q(received_quantity__lte=F("quantity")),
                name="hub_return_line_received"),
        ]

    def __str__(self):
        return f"{self.order_line_id} × {self.quantity}"


class ReturnStatusChange(models.Model):
    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE,
                                       related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=ReturnStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ReturnStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              related_name="+")
    comment = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    tenant_parties = ("return_request__supplier", "return_request__buyer")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class ReturnCredit(models.Model):
    """A credit note issued for a return (one per credited invoice)."""

    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE,
                                       related_name="credits")
    credit_note = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")

    tenant_parties = ("return_request__supplier", "return_request__buyer")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["return_request", "credit_note"],
                                    name="hub_return_credit_once"),
        ]

    def __str__(self):
        return f"{self.return_request_id} → {self.credit_note_id}"

# --- Catalog extras: attributes, images, customer groups, CSV imports ----------------------


class ProductAttribute(models.Model):
    """One attribute of a product (name → value), kept in step with `Product.attributes` by the
    services. The (supplier, name, value) index answers "products with Farbe = Putih" and the
    shop's filter choices on PostgreSQL and SQLite alike."""

    supplier = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE,
                                related_name="attribute_rows")
    name = models.CharField(_("attribute"), max_length=40)
    value = models.CharField(_("value"), max_length=80)

    tenant_owner = "supplier"

    class Meta:
        ordering = ["product_id", "name"]
        verbose_name = _("product attribute")
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="hub_product_attr_name"),
        ]
        indexes = [models.Index(fields=["supplier", "name", "value", "product"],
                                name="hub_product_attr_value")]

    def __str__(self):
        return f"{self.name}={self.value}"


class ProductImage(models.Model):
    """A picture of a product, re-encoded on upload (metadata stripped) and kept in private
    storage with a thumbnail; served only to the supplier and entitled buyers."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(max_length=300, storage=private_storage)
    thumbnail = models.FileField(max_length=300, storage=private_storage)
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    byte_size = models.PositiveIntegerField(default=0)
    alt_text = models.CharField(_("description"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_primary = models.BooleanField(_("primary image"), default=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    tenant_owner = "product__supplier"

    class Meta:
        ordering = ["product_id", "position", "id"]
        verbose_name = _("product image")
        constraints = [
            models.UniqueConstraint(fields=["product"], condition=Q(is_primary=True),
                                    name="hub_product_one_primary_image"),
        ]
        indexes = [models.Index(fields=["product", "position"], name="hub_product_image_pos")]

    def __str__(self):
        return f"{self.product_id} image {self.position}"


class CustomerGroup(models.Model):
    """Customers that share a price list (e.g. "Contractors") and, optionally, a default
    catalog entitlement that a relationship takes when it joins the group."""

    supplier = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                 related_name="hub_customer_groups")
    name = models.CharField(_("name"), max_length=120)
    price_list = models.ForeignKey(PriceList, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="customer_groups",
                                   verbose_name=_("group price list"))
    catalog_scope = models.CharField(
        _("default catalog"), max_length=16, blank=True, choices=CatalogScope.choices,
        help_text=_("Given to a customer when it joins the group; empty: no default."),
    )
    categories = models.ManyToManyField(Category, blank=True, related_name="+",
                                        verbose_name=_("default categories"))
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "supplier"

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer group")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "name"], name="hub_customer_group_name"),
        ]

    def __str__(self):
        return self.name


class CatalogImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    PREVIEWED = "previewed", _("Checked")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")


class CatalogImportJob(models.Model):
    """A catalog CSV (products or price list items) being checked and imported. The file is
    kept in private storage until the import ends; rows are written in one transaction."""

    supplier = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=12)  # "products" or "prices"
    file = models.FileField(max_length=300, storage=private_storage)
    original_name = models.CharField(max_length=255)
    delimiter = models.CharField(max_length=1, default=",")
    columns = models.JSONField(default=dict, blank=True)  # field -> header in the file
    mode = models.CharField(max_length=8, blank=True)  # "check" or "import"
    valid_only = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=CatalogImportStatus.choices,
                              default=CatalogImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"row", "column", "message"}]
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    tenant_owner = "supplier"

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["supplier", "-id"], name="hub_catalog_import_sup")]

    def __str__(self):
        return self.original_name

    @property
    def progress_percent(self):
        if not self.total_rows:
            return 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


# --- Requests for quotation and quotes -------------------------------------------------------


class RfqStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    QUOTED = "quoted", _("Quoted")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    SUPERSEDED = "superseded", _("Superseded")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Rfq(models.Model):
    """A buyer's request for quotation to one supplier. A draft is the buyer's alone; it gets
    its number (gapless per supplier, `numbering.RFQ`) when it is submitted."""

    supplier = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                 related_name="hub_rfqs_received")
    buyer = models.ForeignKey(Organization, on_delete=models.PROTECT,
                              related_name="hub_rfqs_sent")
    relationship = models.ForeignKey(TradingRelationship, on_delete=models.PROTECT,
                                     related_name="rfqs")
    number = models.PositiveIntegerField(_("number"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=RfqStatus.choices,
                              default=RfqStatus.DRAFT)
    title = models.CharField(_("title"), max_length=200)
    buyer_note = models.TextField(_("note"), blank=True)
    needed_by = models.DateField(_("needed by"), null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    # Opened by the supplier around its own quote (e.g. a quote from the sales pipeline): no
    # request of the buyer came first (`rfqs.supplier_quote_create`).
    supplier_initiated = models.BooleanField(_("opened by the supplier"), default=False)
    reference = models.CharField(_("supplier's reference"), max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_parties = ("supplier", "buyer")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("request for quotation")
        verbose_name_plural = _("requests for quotation")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "number"],
                                    condition=Q(number__isnull=False), name="hub_rfq_number"),
            models.UniqueConstraint(fields=["buyer", "idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False),
                                    name="hub_rfq_idempotency"),
            models.CheckConstraint(condition=~Q(supplier=F("buyer")),
                                   name="hub_rfq_two_parties"),
            # Numbered from submission on (a draft cancelled unsent keeps no number).
            models.CheckConstraint(condition=Q(status__in=("draft", "cancelled"))
                                   | Q(number__isnull=False), name="hub_rfq_numbered"),
        ]
        indexes = [
            models.Index(fields=["supplier", "status", "id"], name="hub_rfq_sup_status"),
            models.Index(fields=["buyer", "status", "id"], name="hub_rfq_buyer_status"),
        ]

    def __str__(self):
        return f"RFQ-{self.number}" if self.number else f"RFQ draft {self.pk}"

    @property
    def label(self):
        return str(self)


class RfqLine(models.Model):
    """One item asked for: a product of the supplier that the buyer is entitled to, or a
    free-text description that the supplier maps to one of its products when quoting."""

    rfq = models.ForeignKey(Rfq, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    description = models.CharField(_("description"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    note = models.CharField(_("note"), max_length=500, blank=True)

    tenant_parties = ("rfq__supplier", "rfq__buyer")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="hub_rfq_line_qty"),
            models.CheckConstraint(condition=Q(product__isnull=False) | ~Q(description=""),
                                   name="hub_rfq_line_item"),
        ]

    def __str__(self):
        return f"{self.description} × {self.quantity}"


class Quote(models.Model):
    """The supplier's answer to an RFQ: prices per line, valid until a date (inclusive, in
    Asia/Jakarta). A newer sent quote supersedes the previous one; accepting one places an
    order at its prices (`Order.quote`). Numbered gapless per supplier (`numbering.QUOTE`)."""

    rfq = models.ForeignKey(Rfq, on_delete=models.PROTECT, related_name="quotes")
    supplier = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField(_("number"))
    status = models.CharField(_("status"), max_length=16, choices=QuoteStatus.choices,
                              default=QuoteStatus.DRAFT)
    valid_until = models.DateField(_("valid until"))
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    prices_include_tax = models.BooleanField(default=False)
    tax_exempt = models.BooleanField(default=False)
    total_net = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                    decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    total_tax = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                    decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    total_gross = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                      decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    supplier_note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    tenant_parties = ("supplier", "buyer")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("quote")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "number"], name="hub_quote_number"),
            # At most one draft and one live (sent) quote per RFQ.
            models.UniqueConstraint(fields=["rfq"], condition=Q(status="draft"),
                                    name="hub_quote_one_draft"),
            models.UniqueConstraint(fields=["rfq"], condition=Q(status="sent"),
                                    name="hub_quote_one_sent"),
            models.CheckConstraint(condition=Q(total_gross__gte=0), name="hub_quote_total"),
        ]
        indexes = [
            models.Index(fields=["rfq", "status"], name="hub_quote_rfq_status"),
            models.Index(fields=["status", "valid_until"], name="hub_quote_status_valid"),
        ]

    def __str__(self):
        return f"Q-{self.number}"

    @property
    def label(self):
        return str(self)


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    rfq_line = models.ForeignKey(RfqLine, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=1)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=PRICE_MAX_DIGITS,
                                     decimal_places=PRICE_DECIMAL_PLACES,
                                     validators=[MinValueValidator(0)])
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"), null=True,
                                                      blank=True)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    line_net = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                   decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    line_tax = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                   decimal_places=CREDIT_DECIMAL_PLACES, default=0)
    line_gross = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                     decimal_places=CREDIT_DECIMAL_PLACES, default=0)

    tenant_parties = ("quote__supplier", "quote__buyer")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "rfq_line"], name="hub_quote_line_once"),
            models.UniqueConstraint(fields=["quote", "product"],
                                    name="hub_quote_line_product"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="hub_quote_line_qty"),
            models.CheckConstraint(condition=Q(unit_price__gte=0),
                                   name="hub_quote_line_price"),
        ]

    def __str__(self):
        return f"{self.sku} × {self.quantity} @ {self.unit_price}"


class RfqStatusChange(models.Model):
    """Every status change of an RFQ or of one of its quotes (then `quote` is set)."""

    rfq = models.ForeignKey(Rfq, on_delete=models.CASCADE, related_name="status_changes")
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="status_changes")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    comment = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    tenant_parties = ("rfq__supplier", "rfq__buyer")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"

    @property
    def document(self):
        return str(self.quote) if self.quote_id else str(self.rfq)

    def to_status_label(self):
        choices = QuoteStatus if self.quote_id else RfqStatus
        try:
            return choices(self.to_status).label
        except ValueError:
            return self.to_status


# --- Payment providers, checkouts and webhooks ------------------------------------------------


class PaymentReversal(models.Model):
    """Marks a manually recorded payment as a mistake: its allocations were taken back off the
    invoices and it no longer counts as money received. One per payment."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="reversal")
    reason = models.CharField(_("reason"), max_length=500)
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    reversed_at = models.DateTimeField(default=timezone.now)
    # What was allocated when it was reversed: [[invoice id, amount], ...]
    allocations = models.JSONField(default=list, blank=True)

    tenant_parties = ("payment__supplier", "payment__buyer")

    def __str__(self):
        return f"reversal of {self.payment_id}"


class CheckoutStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class PaymentCheckout(models.Model):
    """A buyer's attempt to pay an invoice's balance through a payment provider. `token` is
    the unguessable handle the provider's page and webhook refer to."""

    supplier = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="checkouts")
    provider = models.CharField(max_length=40)
    token = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(max_digits=CREDIT_MAX_DIGITS,
                                 decimal_places=CREDIT_DECIMAL_PLACES)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    status = models.CharField(max_length=16, choices=CheckoutStatus.choices,
                              default=CheckoutStatus.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="checkouts")

    tenant_parties = ("supplier", "buyer")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="hub_checkout_amount"),
        ]
        indexes = [models.Index(fields=["invoice", "status"], name="hub_checkout_invoice")]

    def __str__(self):
        return f"checkout {self.pk} of {self.invoice_id}"


class ProviderEvent(models.Model):
    """A provider event that was processed: its id is stored once, so a replayed or duplicate
    delivery is recognised and changes nothing."""

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=120)
    kind = models.CharField(max_length=40)
    checkout = models.ForeignKey(PaymentCheckout, on_delete=models.PROTECT,
                                 related_name="provider_events")
    processed_at = models.DateTimeField(default=timezone.now)

    tenant_parties = ("checkout__supplier", "checkout__buyer")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"],
                                    name="hub_provider_event_once"),
        ]

    def __str__(self):
        return f"{self.provider}:{self.event_id}"


class WebhookDelivery(models.Model):
    """Every request to a payment webhook, accepted or not, for operators: when, which
    provider and event, what we answered and why. The body is not stored."""

    provider = models.CharField(max_length=40)
    received_at = models.DateTimeField(default=timezone.now)
    event_id = models.CharField(max_length=120, blank=True)
    status_code = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=40)
    detail = models.CharField(max_length=300, blank=True)
    body_bytes = models.PositiveIntegerField(default=0)
    remote_addr = models.CharField(max_length=64, blank=True)
    # Known only when the delivery named a real checkout.
    supplier = models.ForeignKey(Organization, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="+")

    tenant_owner = "supplier"

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["received_at"], name="hub_webhook_received"),
                   models.Index(fields=["provider", "event_id"], name="hub_webhook_event")]

    def __str__(self):
        return f"{self.provider} {self.event_id or '-'} {self.status_code} {self.outcome}"


# --- Buyer addresses -----------------------------------------------------------------------


class BuyerAddress(models.Model):
    """A delivery/billing address of a buyer organization. At most one default shipping and one
    default billing address per buyer; archived (inactive) instead of deleted once used."""

    buyer = models.ForeignKey(Organization, on_delete=models.CASCADE,
                              related_name="hub_addresses")
    label = models.CharField(_("label"), max_length=80)
    recipient = models.CharField(_("recipient"), max_length=120)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    street = models.TextField(_("street"), max_length=300)
    city = models.CharField(_("city"), max_length=80)
    region = models.CharField(_("province / region"), max_length=80, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, default="ID")
    is_default_shipping = models.BooleanField(_("default shipping address"), default=False)
    is_default_billing = models.BooleanField(_("default billing address"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "buyer"

    class Meta:
        ordering = ["label", "id"]
        verbose_name = _("address")
        constraints = [
            models.UniqueConstraint(fields=["buyer"], condition=Q(is_default_shipping=True),
                                    name="hub_address_default_shipping"),
            models.UniqueConstraint(fields=["buyer"], condition=Q(is_default_billing=True),
                                    name="hub_address_default_billing"),
        ]
        indexes = [models.Index(fields=["buyer", "is_active", "label"],
                                name="hub_address_buyer")]

    def __str__(self):
        return self.label

    def formatted(self):
        """The address as lines of text (the order's snapshot)."""
        place = " ".join(part for part in (self.postal_code, self.city) if part)
        lines = [self.recipient, *self.street.splitlines(), place, self.region, self.country,
                 self.phone]
        return "\n".join(line.strip() for line in lines if line and line.strip())


# --- Promotions ---------------------------------------------------------------------------


class Promotion(models.Model):
    """A discount rule for a period: a percentage off the customer's own price for the listed
    products and/or categories (none listed: the whole catalog), for the listed customer
    groups and/or buyers (none listed: every customer). Applied by the hub's pricing when an
    order is priced; the order line keeps which promotion it got (`OrderLine.promotion`).
    Sales campaigns announce promotions and analyse them; the hub never looks at campaigns."""

    supplier = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                 related_name="hub_promotions")
    name = models.CharField(_("name"), max_length=150)
    code = models.CharField(_("code"), max_length=40, blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("90"))])
    products = models.ManyToManyField(Product, blank=True, related_name="+",
                                      verbose_name=_("products"))
    categories = models.ManyToManyField(Category, blank=True, related_name="+",
                                        verbose_name=_("categories"))
    customer_groups = models.ManyToManyField(CustomerGroup, blank=True, related_name="+",
                                             verbose_name=_("customer groups"))
    buyers = models.ManyToManyField(Organization, blank=True, related_name="+",
                                    verbose_name=_("customers"))
    is_active = models.BooleanField(_("active"), default=True)
    # Only the listed customers get it, even when none are listed: set when the customers
    # come from a sales segment, so an empty segment never opens the promotion to everyone.
    listed_customers_only = models.BooleanField(_("only the listed customers"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    tenant_owner = "supplier"

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("promotion")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")),
                                   name="hub_promotion_period"),
        ]
        indexes = [
            models.Index(fields=["supplier", "is_active", "starts_on", "ends_on"],
                         name="hub_promotion_active"),
        ]

    def __str__(self):
        return self.name
