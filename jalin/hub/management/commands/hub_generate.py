"""`jalin hub_generate`: a supplier with a big catalog and many buyers, for benchmarks.

    jalin hub_generate --supplier grosir --products 50000 --buyers 32 --warehouses 2 \\
        [--orders 200000] [--seed 1] [--tokens-file bench/hub_tokens.json]

Creates (or fills, if it has no products yet) the supplier organization `--supplier` with an
org admin `<supplier>-owner`, a two-level category tree, `--products` active products with
Indonesian trade names, a base price list for all of them (with quantity breaks), warehouses
holding ample stock of every product, and `--buyers` buyer organizations, each with a buyer
user `<supplier>-buyer-<n>` (password `--password`), an API token (written to
`--tokens-file`), an active trading relationship on net 30 days with a credit limit no run
can reach, and its own customer price list covering `--customer-share` of the products with
quantity breaks. `--orders` adds that many historical orders (about `--lines` lines each,
mostly closed, some still open with their stock reserved), so the order tables are as big as
a hub that has run for a while.

On PostgreSQL rows are streamed with COPY (`jalin.core.bulkload`), ids are reserved up front,
big loads drop and rebuild the order tables' secondary indexes, and the tables are ANALYZEd.
On SQLite it falls back to `bulk_create`. A run is reproducible for a given `--seed` (except
the API tokens, which are random secrets).
"""

import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from jalin.accounts.models import ApiToken, hash_token_secret
from jalin.core.bulkload import TableWriter, secondary_indexes_dropped
from jalin.hub import numbering, sales_rollup, tax
from jalin.hub.models import (
    Category,
    Order,
    OrderLine,
    OrderLineAllocation,
    OrderStatus,
    OrderStatusChange,
    PaymentTerms,
    PriceList,
    PriceListItem,
    Product,
    ProductSalesMonth,
    RelationshipStatus,
    StockLevel,
    SupplierSettings,
    TaxClass,
    TradingRelationship,
    Warehouse,
)
from jalin.tenancy.models import Membership, Organization
from jalin.tenancy.roles import Role

# Loads at least this big drop the table's secondary indexes and rebuild them afterwards.
BULK_THRESHOLD = 200_000
CREDIT_LIMIT = Decimal("1000000000000000.00")  # 10^15 IDR: no benchmark run reaches it
STOCK_ON_HAND = 10_000_000

# top category (code) -> {subcategory: product nouns}
CATALOG = {
    ("LIS", "Listrik"): {
        "Kabel": ("Kabel NYA", "Kabel NYM", "Kabel NYY", "Kabel Serabut"),
        "Lampu": ("Lampu LED", "Lampu TL", "Downlight", "Lampu Sorot"),
        "Saklar & Stopkontak": ("Saklar Tunggal", "Saklar Ganda", "Stopkontak", "Steker"),
        "MCB & Panel": ("MCB", "Box Panel", "RCBO", "Kontaktor"),
        "Aksesoris Listrik": ("Isolasi", "Terminal Blok", "Klem Kabel", "Pipa Conduit"),
    },
    ("BGN", "Bahan Bangunan"): {
        "Semen & Mortar": ("Semen Portland", "Mortar Instan", "Nat Keramik", "Acian"),
        "Cat": ("Cat Tembok", "Cat Kayu & Besi", "Plamir", "Cat Dasar"),
        "Pipa & Fitting": ("Pipa PVC", "Elbow PVC", "Sambungan Tee", "Stop Kran"),
        "Keramik": ("Keramik Lantai", "Keramik Dinding", "Granit", "Mozaik"),
        "Besi & Baja": ("Besi Beton", "Wiremesh", "Hollow Galvanis", "Plat Besi"),
    },
    ("PKS", "Perkakas"): {
        "Perkakas Tangan": ("Obeng", "Kunci Pas", "Tang Kombinasi", "Palu"),
        "Perkakas Listrik": ("Bor Listrik", "Gerinda Tangan", "Gergaji Listrik", "Mesin Ketam"),
        "Alat Ukur": ("Meteran", "Waterpass", "Jangka Sorong", "Siku"),
        "Mata Bor & Gerinda": ("Mata Bor Besi", "Batu Gerinda", "Amplas", "Mata Gergaji"),
        "Alat Keselamatan": ("Sarung Tangan", "Helm Proyek", "Kacamata Safety", "Rompi"),
    },
    ("KBR", "Kebersihan"): {
        "Sabun & Deterjen": ("Deterjen Bubuk", "Sabun Cuci Piring", "Sabun Tangan",
                             "Pelembut Pakaian"),
        "Pembersih Lantai": ("Pembersih Lantai", "Karbol", "Pembersih Kaca", "Desinfektan"),
        "Tisu & Kertas": ("Tisu Gulung", "Tisu Wajah", "Handuk Kertas", "Tisu Basah"),
        "Alat Kebersihan": ("Sapu", "Pel Lantai", "Kain Lap", "Sikat"),
        "Kantong Sampah": ("Kantong Sampah", "Tempat Sampah", "Plastik Sampah Medis"),
    },
    ("ATK", "Alat Tulis Kantor"): {
        "Kertas": ("Kertas HVS A4", "Kertas F4", "Kertas Continuous Form", "Kertas Foto"),
        "Alat Tulis": ("Pulpen", "Pensil", "Spidol", "Stabilo"),
        "Map & Arsip": ("Map Plastik", "Ordner", "Box File", "Map Gantung"),
        "Tinta & Toner": ("Tinta Printer", "Toner", "Pita Printer"),
        "Perlengkapan Meja": ("Stapler", "Isi Staples", "Gunting", "Penggaris"),
    },
    ("MKN", "Makanan & Minuman"): {
        "Minuman": ("Air Mineral", "Teh Kemasan", "Kopi Bubuk", "Minuman Isotonik"),
        "Makanan Ringan": ("Keripik Singkong", "Biskuit", "Wafer", "Kacang Goreng"),
        "Bahan Pokok": ("Beras", "Gula Pasir", "Minyak Goreng", "Tepung Terigu"),
        "Bumbu": ("Kecap Manis", "Saus Sambal", "Garam", "Kaldu Bubuk"),
        "Mi & Pasta": ("Mi Instan", "Bihun", "Pasta", "Soun"),
    },
    ("KMS", "Kemasan"): {
        "Kardus": ("Kardus Polos", "Box Kardus", "Kardus Arsip"),
        "Plastik Kemasan": ("Plastik Wrap", "Kantong Plastik", "Bubble Wrap", "Plastik Klip"),
        "Lakban": ("Lakban Coklat", "Lakban Bening", "Lakban Kertas"),
        "Label": ("Label Stiker", "Label Barcode", "Label Pengiriman"),
        "Palet": ("Palet Kayu", "Palet Plastik"),
    },
    ("OTO", "Otomotif"): {
        "Oli": ("Oli Mesin", "Oli Gardan", "Oli Transmisi"),
        "Aki": ("Aki Kering", "Aki Basah"),
        "Ban": ("Ban Luar", "Ban Dalam"),
        "Filter": ("Filter Oli", "Filter Udara", "Filter Solar"),
        "Suku Cadang": ("Busi", "Kampas Rem", "V-Belt", "Bohlam"),
    },
}
BRANDS = ("Nusa", "Sinar", "Prima", "Mega", "Jaya", "Cahaya", "Garuda", "Merapi", "Bintang",
          "Samudra", "Rajawali", "Sentosa", "Mitra", "Karya", "Surya", "Makmur")
BRAND_SUFFIXES = ("", "", " Abadi", " Mas", " Indo", " Utama", " Lestari")
VARIANTS = ("Standar", "Premium", "Ekonomis", "Pro", "Plus", "Super", "Eco", "Max")
UNITS = ("pcs", "pcs", "pcs", "box", "pak", "rol", "kg", "liter", "sak", "lembar", "meter")
SIZES = ("1", "2", "5", "10", "12", "20", "25", "40", "50", "100", "250", "500")
DESCRIPTIONS = (
    "Kualitas terjamin, sesuai SNI.", "Cocok untuk proyek dan kebutuhan kantor.",
    "Stok gudang Jakarta dan Surabaya, kirim cepat.", "Harga grosir untuk pembelian partai.",
    "Garansi resmi distributor.", "Kemasan kuat, aman untuk pengiriman antarpulau.",
)
BUYER_WORDS = ("Sejahtera", "Makmur", "Abadi", "Jaya", "Sentosa", "Mandiri", "Utama",
               "Berkah", "Lestari", "Nusantara", "Perkasa", "Gemilang")
BUYER_TRADES = ("Bangunan", "Teknik", "Niaga", "Retail", "Konstruksi", "Logistik",
                "Swalayan", "Properti", "Kontraktor", "Dagang")
CITIES = ("Jakarta", "Surabaya", "Bandung", "Medan", "Semarang", "Makassar", "Denpasar",
          "Palembang", "Balikpapan", "Yogyakarta", "Batam", "Manado")
WAREHOUSES = (("JKT", "Gudang Jakarta (Cakung)"), ("SBY", "Gudang Surabaya (Rungkut)"),
              ("MDN", "Gudang Medan"), ("MKS", "Gudang Makassar"), ("SMG", "Gudang Semarang"))
S = OrderStatus
# Historical orders: status -> weight. Most are done; some are still open.
HISTORY_STATUSES = ((S.CLOSED, 70), (S.DELIVERED, 8), (S.SHIPPED, 4), (S.CANCELLED, 7),
                    (S.CONFIRMED, 6), (S.SUBMITTED, 5))
SHIPPED_STATUSES = {S.SHIPPED, S.DELIVERED, S.CLOSED}
RESERVING_STATUSES = {S.SUBMITTED, S.CONFIRMED}


def _title(slug):
    return " ".join(part.capitalize() for part in slug.replace("_", "-").split("-") if part)


class Command(BaseCommand):
    help = "Generate a supplier with a big catalog, many buyers and order history (benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--supplier", required=True, help="slug of the supplier (created)")
        parser.add_argument("--products", type=int, default=50000)
        parser.add_argument("--buyers", type=int, default=32)
        parser.add_argument("--warehouses", type=int, default=2)
        parser.add_argument("--orders", type=int, default=0,
                            help="historical orders to add (about --lines lines each)")
        parser.add_argument("--lines", type=int, default=5, help="average lines per order")
        parser.add_argument("--customer-share", type=float, default=0.6,
                            help="share of the products in each buyer's customer price list")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=50000)
        parser.add_argument("--password", default="bench-password-1")
        parser.add_argument("--tokens-file", default="",
                            help="write the buyers' API tokens (JSON) to this file")
        parser.add_argument("--keep-indexes", action="store_true",
                            help="never drop and rebuild indexes around big loads")

    def handle(self, *args, supplier, products, buyers, warehouses, orders, lines,
               customer_share, seed, batch, password, tokens_file, keep_indexes, **options):
        if min(products, buyers, orders) < 0 or batch < 1 or lines < 1:
            raise CommandError("Counts must not be negative; --batch and --lines positive.")
        if not 1 <= warehouses <= len(WAREHOUSES):
            raise CommandError(f"--warehouses must be between 1 and {len(WAREHOUSES)}.")
        if not 0 <= customer_share <= 1:
            raise CommandError("--customer-share must be between 0 and 1.")
        if orders and (not products or not buyers):
            raise CommandError("Orders need products and buyers.")
        self.rng = random.Random(seed)
        self.batch = batch
        self.out = self.stdout
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.password_hash = make_password(password)  # hashed once, shared by all users
        started, cpu_started = time.monotonic(), time.process_time()

        organization = self._supplier(supplier)
        if Product.objects.filter(supplier=organization).exists():
            raise CommandError(f"{supplier} already has products; use another --supplier or a "
                               f"fresh database.")
        self.supplier = organization
        leaf_categories = self._categories()
        catalog = self._products(products, leaf_categories)
        base_prices = self._base_prices(catalog)
        buyer_rows, tokens = self._buyers(buyers, catalog, base_prices, customer_share)
        warehouse_ids = self._warehouses(warehouses)
        reserved = {}
        big = orders * lines >= BULK_THRESHOLD and not keep_indexes
        order_tables = [Order, OrderLine, OrderLineAllocation, OrderStatusChange]
        with secondary_indexes_dropped(order_tables, out=self.out, enabled=big):
            self._orders(orders, lines, catalog, base_prices, buyer_rows, warehouse_ids,
                         reserved)
        self._stock(catalog, warehouse_ids, reserved)
        if orders:
            rollup_started = time.monotonic()
            rows = sales_rollup.rebuild(supplier_ids=[organization.pk])
            self.out.write(f"  monthly product rollup: {rows:,} rows, "
                           f"{time.monotonic() - rollup_started:,.1f} s\n")
        if connection.vendor == "postgresql":
            self.out.write("Analyzing tables...\n")
            with connection.cursor() as cursor:
                for model in (Category, Product, PriceList, PriceListItem, TradingRelationship,
                              Warehouse, StockLevel, Order, OrderLine, OrderLineAllocation,
                              OrderStatusChange, ProductSalesMonth):
                    cursor.execute(f'ANALYZE "{model._meta.db_table}"')
        if tokens_file:
            Path(tokens_file).write_text(json.dumps({
                "supplier": organization.slug, "supplier_id": organization.pk,
                "buyers": tokens}, indent=1))
            self.out.write(f"API tokens of {len(tokens)} buyers written to {tokens_file}\n")
        self.out.write(self.style.SUCCESS(
            f"Generated {len(catalog):,} products, {buyers:,} buyers, {warehouses} "
            f"warehouses, {orders:,} orders for {organization.slug} (id {organization.pk}) in "
            f"{time.monotonic() - started:,.1f} s ({time.process_time() - cpu_started:,.1f} s "
            f"CPU in this process)."))

    # -- organizations and people --

    def _user(self, username):
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model(username=username, email=f"{username}@example.com",
                              password=self.password_hash)
            user.save()
        return user

    def _supplier(self, slug):
        organization, _created = Organization.objects.get_or_create(
            slug=slug, defaults={"name": f"PT {_title(slug)} Distribusi Nusantara",
                                 "is_supplier": True, "city": "Jakarta"})
        if not organization.is_supplier:
            organization.is_supplier = True
            organization.save(update_fields=["is_supplier"])
        owner = self._user(f"{slug}-owner")
        Membership.objects.get_or_create(user=owner, organization=organization,
                                         defaults={"role": Role.ORG_ADMIN})
        SupplierSettings.objects.get_or_create(supplier=organization,
                                               defaults={"show_stock_quantity": True})
        return organization

    # -- catalog --

    def _categories(self):
        leaves = []  # (category id, top code, nouns)
        for (code, top_name), children in CATALOG.items():
            top = Category.objects.create(supplier=self.supplier, name=top_name,
                                          slug=code.lower())
            for index, (child_name, nouns) in enumerate(children.items(), start=1):
                child = Category.objects.create(supplier=self.supplier, parent=top,
                                                name=child_name, slug=f"{code.lower()}-{index}")
                leaves.append((child.pk, f"{code}{index}", nouns))
        self.out.write(f"Categories: {len(CATALOG)} top-level, {len(leaves)} below them\n")
        return leaves

    def _products(self, count, leaves):
        """Writes the products; returns [(id, sku, name, unit, min_order_quantity,
        tax_class)] in id order."""
        rng = self.rng
        self.out.write(f"Products: {count:,}\n")
        writer = TableWriter(Product, batch=self.batch, out=self.out)
        first = writer.reserve_ids(count) if count else 0
        tax_classes = [TaxClass.STANDARD] * 18 + [TaxClass.REDUCED, TaxClass.EXEMPT]
        catalog = []
        for index in range(count):
            category_id, code, nouns = leaves[index % len(leaves)]
            unit = rng.choice(UNITS)
            brand = rng.choice(BRANDS) + rng.choice(BRAND_SUFFIXES)
            name = (f"{rng.choice(nouns)} {brand} {rng.choice(VARIANTS)} "
                    f"{rng.choice(SIZES)} {unit}")
            sku = f"{code}-{index + 1:06d}"
            moq = rng.choice((1,) * 8 + (5, 10))
            created = self.now - timedelta(days=rng.randrange(1, 1500))
            row = {
                "id": first + index, "supplier_id": self.supplier.pk, "sku": sku,
                "name": name,
                "description": rng.choice(DESCRIPTIONS) if rng.random() < 0.3 else "",
                "category_id": category_id, "unit": unit,
                "pack_size": rng.choice((1,) * 6 + (6, 12, 24)),
                "min_order_quantity": moq, "tax_class": rng.choice(tax_classes),
                "is_active": True, "created_at": created,
                "updated_at": created + timedelta(days=rng.randrange(0, 300)), "version": 1,
            }
            writer.add(row)
            catalog.append((row["id"], sku, name, unit, moq, row["tax_class"]))
        writer.flush()
        return catalog

    def _price_rows(self, writer, list_id, product_id, price, breaks):
        writer.add({"price_list_id": list_id, "product_id": product_id, "min_quantity": 1,
                    "unit_price": Decimal(price)})
        for min_quantity, percent in breaks:
            writer.add({"price_list_id": list_id, "product_id": product_id,
                        "min_quantity": min_quantity,
                        "unit_price": Decimal(price * percent // 100)})

    def _base_prices(self, catalog):
        """Writes the base price list; returns {product id: whole-rupiah unit price}."""
        rng = self.rng
        base = PriceList.objects.create(supplier=self.supplier, name="Harga dasar 2026",
                                        currency="IDR", is_base=True)
        self.out.write("Base price list\n")
        writer = TableWriter(PriceListItem, batch=self.batch, out=self.out,
                             label="base price items")
        prices = {}
        for product_id, *_rest in catalog:
            price = int(10 ** rng.uniform(3.7, 6.7)) // 100 * 100 + 100  # Rp 5 000 … 5 000 000
            prices[product_id] = price
            breaks = []
            if rng.random() < 0.6:
                breaks.append((10, 95))
            if rng.random() < 0.25:
                breaks.append((50, 90))
            self._price_rows(writer, base.pk, product_id, price, breaks)
        writer.flush()
        return prices

    def _buyers(self, count, catalog, base_prices, share):
        """Buyer organizations, their users, tokens, customer price lists and relationships.
        Returns ([(buyer id, relationship id, user id, customer prices)], tokens)."""
        rng = self.rng
        slug = self.supplier.slug
        self.out.write(f"Buyers: {count:,}\n")
        rows, tokens = [], []
        items = TableWriter(PriceListItem, batch=self.batch, out=self.out,
                            label="customer price items")
        for number in range(1, count + 1):
            words = (rng.choice(("PT", "PT", "CV", "UD")),
                     _title(rng.choice(("sumber", "karya", "bina", "tunas", "mitra", "putra",
                                        "anugerah", "cipta", "sinar", "harapan"))),
                     rng.choice(BUYER_WORDS), rng.choice(BUYER_TRADES))
            with transaction.atomic():
                buyer = Organization.objects.create(
                    name=f"{' '.join(words)} {number}", slug=f"{slug}-buyer-{number}",
                    is_buyer=True, city=rng.choice(CITIES))
                user = self._user(f"{slug}-buyer-{number}")
                membership = Membership.objects.create(user=user, organization=buyer,
                                                       role=Role.BUYER)
                key_id, secret, raw = ApiToken.new_key()
                ApiToken.objects.create(membership=membership, name="hub benchmark",
                                        key_id=key_id, secret_hash=hash_token_secret(secret),
                                        expires_at=self.now + timedelta(days=30))
                price_list = PriceList.objects.create(
                    supplier=self.supplier, name=f"Harga khusus {buyer.name}"[:120],
                    currency="IDR")
                relationship = TradingRelationship.objects.create(
                    supplier=self.supplier, buyer=buyer, status=RelationshipStatus.ACTIVE,
                    payment_terms=PaymentTerms.NET, payment_days=30, credit_limit=CREDIT_LIMIT,
                    currency="IDR", price_list=price_list)
            discount = rng.randint(3, 15)
            customer = {}
            for product_id, *_rest in catalog:
                if rng.random() >= share:
                    continue
                price = base_prices[product_id] * (100 - discount - rng.randint(0, 5)) // 100
                customer[product_id] = price
                breaks = [(12, 96)] if rng.random() < 0.6 else []
                if rng.random() < 0.2:
                    breaks.append((100, 90))
                self._price_rows(items, price_list.pk, product_id, price, breaks)
            rows.append((buyer.pk, relationship.pk, user.pk, customer))
            tokens.append({"buyer_id": buyer.pk, "username": user.username, "token": raw,
                           "relationship_id": relationship.pk,
                           "customer_prices": len(customer)})
        items.flush()
        return rows, tokens

    def _warehouses(self, count):
        return [Warehouse.objects.create(supplier=self.supplier, code=code, name=name).pk
                for code, name in WAREHOUSES[:count]]

    def _stock(self, catalog, warehouse_ids, reserved):
        rng = self.rng
        self.out.write(f"Stock levels: {len(catalog) * len(warehouse_ids):,}\n")
        writer = TableWriter(StockLevel, batch=self.batch, out=self.out)
        for warehouse_id in warehouse_ids:
            for product_id, *_rest in catalog:
                writer.add({
                    "warehouse_id": warehouse_id, "product_id": product_id,
                    "on_hand": STOCK_ON_HAND,
                    "reserved": reserved.get((warehouse_id, product_id), 0),
                    "low_stock_threshold": rng.choice((0, 0, 10, 50, 100)),
                    "updated_at": self.now,
                })
        writer.flush()

    # -- order history --

    def _orders(self, count, average_lines, catalog, base_prices, buyer_rows, warehouse_ids,
                reserved):
        if not count:
            return
        rng = self.rng
        self.out.write(f"Orders: {count:,} (about {average_lines} lines each)\n")
        orders = TableWriter(Order, batch=self.batch, out=self.out)
        # Lines and status changes point at orders: written right after each batch of orders.
        order_lines = TableWriter(OrderLine, batch=sys.maxsize, out=self.out)
        allocations = TableWriter(OrderLineAllocation, batch=sys.maxsize, out=self.out,
                                  label="order line allocations")
        changes = TableWriter(OrderStatusChange, batch=sys.maxsize, out=self.out,
                              label="order status changes")
        orders.followers += [order_lines, allocations, changes]  # in this order
        first = orders.reserve_ids(count)
        # Enough line ids for the longest possible orders; the unused rest is a gap.
        line_ids = iter(range(order_lines.reserve_ids(count * (2 * average_lines - 1)),
                              sys.maxsize))
        statuses = [status for status, weight in HISTORY_STATUSES for _ in range(weight)]
        rates = tax.rates_for(self.supplier.pk)
        unit = tax.minor_unit("IDR")
        supplier_id = self.supplier.pk
        span = 730 * 86400
        for index in range(count):
            pk = first + index
            buyer_id, relationship_id, user_id, customer = rng.choice(buyer_rows)
            status = rng.choice(statuses)
            created = self.now - timedelta(seconds=span * (count - index) // count
                                           + rng.randrange(3600))
            n_lines = max(1, min(2 * average_lines - 1, round(rng.triangular(
                1, 2 * average_lines - 1, average_lines))))
            total_net = total_tax = Decimal(0)
            shipped = status in SHIPPED_STATUSES
            for position in range(1, n_lines + 1):
                product_id, sku, name, unit_name, moq, tax_class = rng.choice(catalog)
                quantity = moq * rng.randint(1, 12)
                price = Decimal(customer.get(product_id) or base_prices[product_id])
                rate = rates.get(tax_class, Decimal(0))
                net = (price * quantity).quantize(unit)
                line_tax = (net * rate / 100).quantize(unit)
                warehouse_id = warehouse_ids[rng.randrange(len(warehouse_ids))]
                if status in RESERVING_STATUSES:
                    key = (warehouse_id, product_id)
                    reserved[key] = reserved.get(key, 0) + quantity
                line_id = next(line_ids)
                allocations.add({"order_line_id": line_id, "warehouse_id": warehouse_id,
                                 "quantity": quantity,
                                 "shipped_quantity": quantity if shipped else 0})
                order_lines.add({
                    "id": line_id, "order_id": pk, "position": position, "product_id": product_id,
                    "sku": sku, "name": name, "unit": unit_name, "quantity": quantity,
                    "unit_price": price, "tax_class": tax_class, "tax_rate": rate,
                    "line_net": net, "line_tax": line_tax, "line_gross": net + line_tax,
                    "warehouse_id": warehouse_id,
                    "shipped_quantity": quantity if shipped else 0,
                })
                total_net += net
                total_tax += line_tax
            updated = min(self.now, created + timedelta(days=rng.randrange(0, 20)))
            orders.add({
                "id": pk, "supplier_id": supplier_id, "buyer_id": buyer_id,
                "relationship_id": relationship_id, "number": index + 1,
                "placed_by_id": user_id, "entered_by_supplier": False, "status": status,
                "currency": "IDR", "prices_include_tax": False, "tax_exempt": False,
                "total_net": total_net, "total_tax": total_tax,
                "total_gross": total_net + total_tax, "buyer_reference": f"PO-{pk % 100000:05d}",
                "note": "", "needs_approval": False, "approved_by_id": None,
                "approved_at": None, "credit_released_by_id": None, "credit_released_at": None,
                "stock_reserved": status in RESERVING_STATUSES, "idempotency_key": None,
                "created_at": created, "submitted_at": created, "updated_at": updated,
                "invoiced_gross": Decimal(0), "version": 1,
            })
            changes.add({"order_id": pk, "from_status": "", "to_status": status,
                         "actor_id": user_id, "reason": "", "at": created})
        orders.flush()
        with transaction.atomic():
            numbering.advance_to(supplier_id=supplier_id, sequence=numbering.ORDER,
                                 number=count)
