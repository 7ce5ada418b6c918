"""`jalin demo`: load a small, realistic hub to click through.

An operator, three suppliers (one of them also buys), three buyers, and people holding every
role, plus one person who works for two companies (to try the organization switcher) and a
superuser for /admin/. Everyone shares one password, printed at the end.

Running it again creates only what is missing and resets the demo people's passwords to the
shared one, so the printed table is always true. Organizations and memberships go through the
tenancy services, so the audit log and the event outbox see them like any other change.
"""

import io
import zlib
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageDraw

from jalin.core.events import events_process
from jalin.crm.activities.services import activity_create
from jalin.crm.models import Account, Contact, CustomFieldDefinition, CustomFieldTarget
from jalin.crm.services import account_create, contact_create, custom_field_define
from jalin.crm.threads.services import comment_post
from jalin.hub.images import image_upload
from jalin.hub.models import (
    BuyerSettings,
    Category,
    CustomerGroup,
    Order,
    OrderStatus,
    PriceList,
    PriceListItem,
    Product,
    Rfq,
    SavedList,
    StockLevel,
    TradingRelationship,
    Warehouse,
)
from jalin.hub.orders import order_place, order_transition, ship
from jalin.hub.pricing import prices_for
from jalin.hub.rfqs import quote_save, rfq_create
from jalin.hub.saved_lists import list_create
from jalin.hub.selectors import entitled_products
from jalin.hub.services import (
    category_create,
    customer_group_create,
    price_list_create,
    price_list_item_upsert,
    product_create,
    relationship_create,
    relationship_update,
)
from jalin.hub.stock import stock_adjust, warehouse_create
from jalin.tenancy.models import Membership, Organization
from jalin.tenancy.roles import Role
from jalin.tenancy.services import membership_create, organization_create

DEFAULT_PASSWORD = "jalin-demo"  # noqa: S105 - published on purpose: demo data only
MAX_EVENT_PASSES = 100
LOGIN_URL = "http://127.0.0.1:8000/accounts/login/"
ADMIN_URL = "http://127.0.0.1:8000/admin/"


@dataclass(frozen=True)
class DemoOrg:
    slug: str
    name: str
    legal_name: str
    tax_id: str
    address: str
    city: str
    is_operator: bool = False
    is_supplier: bool = False
    is_buyer: bool = False


@dataclass(frozen=True)
class DemoPerson:
    username: str
    first_name: str
    last_name: str
    email: str
    memberships: tuple[tuple[str, str], ...] = field(default=())
    is_superuser: bool = False


ORGANIZATIONS = (
    DemoOrg(
        slug="jalin-hub", name="Jalin Hub", legal_name="PT Jalin Hub Indonesia",
        tax_id="01.111.222.3-011.000", address="Jl. Jenderal Sudirman Kav. 52-53, Senayan",
        city="Jakarta Selatan", is_operator=True,
    ),
    DemoOrg(
        slug="sinar-distribusi", name="PT Sinar Distribusi Nusantara",
        legal_name="PT Sinar Distribusi Nusantara", tax_id="02.345.678.9-031.000",
        address="Jl. Gunung Sahari Raya No. 18, Pademangan", city="Jakarta Utara",
        is_supplier=True,
    ),
    DemoOrg(
        slug="maju-manufaktur", name="PT Maju Manufaktur Indonesia",
        legal_name="PT Maju Manufaktur Indonesia Tbk", tax_id="03.456.789.0-609.000",
        address="Kawasan Industri SIER, Jl. Rungkut Industri III No. 7", city="Surabaya",
        is_supplier=True,
    ),
    DemoOrg(
        slug="teknologi-layanan", name="CV Teknologi Layanan",
        legal_name="CV Teknologi Layanan", tax_id="04.567.890.1-423.000",
        address="Jl. Ir. H. Juanda No. 102, Dago", city="Bandung",
        is_supplier=True, is_buyer=True,
    ),
    DemoOrg(
        slug="toko-bangunan-sejahtera", name="PT Toko Bangunan Sejahtera",
        legal_name="PT Toko Bangunan Sejahtera", tax_id="05.678.901.2-086.000",
        address="Jl. Daan Mogot Km. 11 No. 25, Cengkareng", city="Jakarta Barat",
        is_buyer=True,
    ),
    DemoOrg(
        slug="rs-harapan", name="PT Rumah Sakit Harapan",
        legal_name="PT Rumah Sakit Harapan Sehat", tax_id="06.789.012.3-618.000",
        address="Jl. Raya Darmo No. 90", city="Surabaya", is_buyer=True,
    ),
    DemoOrg(
        slug="kopi-kita", name="CV Kopi Kita", legal_name="CV Kopi Kita Nusantara",
        tax_id="07.890.123.4-428.000", address="Jl. Braga No. 41", city="Bandung",
        is_buyer=True,
    ),
)


def _person(username, first, last, domain, *memberships, is_superuser=False):
    return DemoPerson(
        username=username, first_name=first, last_name=last, email=f"{username}@{domain}",
        memberships=tuple(memberships), is_superuser=is_superuser,
    )


PEOPLE = (
    _person("admin", "Admin", "Jalin", "jalinhub.example",
            ("jalin-hub", Role.ORG_ADMIN), is_superuser=True),
    # Suppliers: every supplier-side role at the distributor.
    _person("budi", "Budi", "Santoso", "sinar.example", ("sinar-distribusi", Role.ORG_ADMIN)),
    _person("sari", "Sari", "Wulandari", "sinar.example", ("sinar-distribusi", Role.SALES)),
    _person("agus", "Agus", "Setiawan", "sinar.example",
            ("sinar-distribusi", Role.SERVICE_AGENT)),
    _person("dewi", "Dewi", "Lestari", "sinar.example", ("sinar-distribusi", Role.FINANCE)),
    _person("joko", "Joko", "Prasetyo", "sinar.example", ("sinar-distribusi", Role.VIEWER)),
    _person("hendra", "Hendra", "Gunawan", "majumanufaktur.example",
            ("maju-manufaktur", Role.ORG_ADMIN)),
    _person("putri", "Putri", "Rahmawati", "majumanufaktur.example",
            ("maju-manufaktur", Role.SALES)),
    _person("rudi", "Rudi", "Hartono", "majumanufaktur.example",
            ("maju-manufaktur", Role.SERVICE_AGENT)),
    _person("wati", "Wati", "Kusuma", "majumanufaktur.example",
            ("maju-manufaktur", Role.FINANCE)),
    _person("andi", "Andi", "Saputra", "teknologilayanan.example",
            ("teknologi-layanan", Role.ORG_ADMIN)),
    _person("fitri", "Fitri", "Handayani", "teknologilayanan.example",
            ("teknologi-layanan", Role.SERVICE_AGENT)),
    _person("yoga", "Yoga", "Pratama", "teknologilayanan.example",
            ("teknologi-layanan", Role.BUYER)),
    # Buyers: every buyer-side role.
    _person("yusuf", "Yusuf", "Hidayat", "tokobangunan.example",
            ("toko-bangunan-sejahtera", Role.ORG_ADMIN)),
    _person("lina", "Lina", "Marlina", "tokobangunan.example",
            ("toko-bangunan-sejahtera", Role.BUYER)),
    _person("bambang", "Bambang", "Susilo", "tokobangunan.example",
            ("toko-bangunan-sejahtera", Role.BUYER_APPROVER)),
    _person("maria", "Maria", "Simanjuntak", "rsharapan.example",
            ("rs-harapan", Role.ORG_ADMIN)),
    _person("ketut", "Ketut", "Wirawan", "rsharapan.example", ("rs-harapan", Role.BUYER)),
    _person("nur", "Nur", "Aini", "rsharapan.example", ("rs-harapan", Role.BUYER_APPROVER)),
    _person("eko", "Eko", "Nugroho", "rsharapan.example", ("rs-harapan", Role.VIEWER)),
    _person("dimas", "Dimas", "Ramadhan", "kopikita.example", ("kopi-kita", Role.ORG_ADMIN)),
    _person("ayu", "Ayu", "Permata", "kopikita.example", ("kopi-kita", Role.BUYER)),
    # An outside bookkeeper for two companies: try the organization switcher as her.
    _person("rina", "Rina", "Anggraini", "rinaconsulting.example",
            ("teknologi-layanan", Role.FINANCE), ("kopi-kita", Role.BUYER_APPROVER)),
)


# --- Catalog (jalin.hub) ------------------------------------------------------------------
# Prices are IDR excluding PPN. Tax classes: medical consumables are PPN-exempt, the rest
# standard. A product row: (sku, name, category slug, unit, pack size, MOQ, tax class,
# base unit price).

@dataclass(frozen=True)
class DemoCatalog:
    supplier: str
    admin: str
    categories: tuple[tuple[str, str], ...]
    products: tuple[tuple[str, str, str, str, int, int, str, int], ...]
    customer_list_buyer: str
    customer_list_name: str
    # (buyer slug, payment terms, payment days, credit limit, entitled category slugs or ()
    # for the whole catalog)
    relationships: tuple[tuple[str, str, int, int, tuple[str, ...]], ...]


CATALOGS = (
    DemoCatalog(
        supplier="sinar-distribusi", admin="budi",
        categories=(
            ("bahan-bangunan", "Bahan Bangunan"),
            ("alat-kesehatan", "Perlengkapan Rumah Sakit"),
            ("kebersihan", "Kebersihan & Sanitasi"),
        ),
        products=(
            ("SDN-SMN-PCC50", "Semen Portland Komposit 50 kg", "bahan-bangunan", "sak", 1, 10,
             "standard", 68_500),
            ("SDN-BSI-U10", "Besi Beton Ulir SNI 10 mm × 12 m", "bahan-bangunan", "batang", 1,
             20, "standard", 98_000),
            ("SDN-BTR-AAC10", "Bata Ringan AAC 60×20×10 cm", "bahan-bangunan", "m³", 1, 5,
             "standard", 685_000),
            ("SDN-CAT-INT25", "Cat Tembok Interior Putih 25 kg", "bahan-bangunan", "pail", 1, 2,
             "standard", 1_250_000),
            # A product family: the head and its colour variants (see DEMO_VARIANTS).
            ("SDN-CAT-TBK5", "Cat Tembok Interior 5 L", "bahan-bangunan", "kaleng", 1, 1,
             "standard", 265_000),
            ("SDN-CAT-TBK5-PTH", "Cat Tembok Interior 5 L Putih", "bahan-bangunan", "kaleng", 1,
             1, "standard", 265_000),
            ("SDN-CAT-TBK5-ABU", "Cat Tembok Interior 5 L Abu-abu", "bahan-bangunan", "kaleng",
             1, 1, "standard", 279_000),
            ("SDN-PVC-AW4", "Pipa PVC AW 4 inci × 4 m", "bahan-bangunan", "batang", 1, 10,
             "standard", 142_000),
            ("SDN-KRM-6060G", "Keramik Lantai 60×60 cm Glossy", "bahan-bangunan", "dus", 4, 10,
             "standard", 189_000),
            ("SDN-MSK-3PLY", "Masker Medis 3 Ply Earloop (50 pcs)", "alat-kesehatan", "box", 50,
             20, "exempt", 38_500),
            ("SDN-GLV-NTRM", "Sarung Tangan Nitril Non-Powder Ukuran M (100 pcs)",
             "alat-kesehatan", "box", 100, 10, "exempt", 92_000),
            ("SDN-SPT-3ML", "Spuit Sekali Pakai 3 ml (100 pcs)", "alat-kesehatan", "box", 100,
             10, "exempt", 145_000),
            ("SDN-INF-DWS", "Infus Set Dewasa Steril", "alat-kesehatan", "pcs", 25, 25,
             "exempt", 6_750),
            ("SDN-ALK-70-1L", "Alkohol 70% 1 liter", "kebersihan", "botol", 12, 12,
             "standard", 32_000),
            ("SDN-DSF-5L", "Cairan Disinfektan Lantai 5 liter", "kebersihan", "jeriken", 4, 4,
             "standard", 118_000),
        ),
        customer_list_buyer="toko-bangunan-sejahtera",
        customer_list_name="Harga khusus PT Toko Bangunan Sejahtera",
        relationships=(
            ("toko-bangunan-sejahtera", "net", 30, 250_000_000,
             ("bahan-bangunan", "kebersihan")),
            ("rs-harapan", "net", 45, 500_000_000, ("alat-kesehatan", "kebersihan")),
            ("kopi-kita", "prepaid", 0, 0, ()),
        ),
    ),
    DemoCatalog(
        supplier="maju-manufaktur", admin="hendra",
        categories=(
            ("mesin-kopi", "Mesin & Peralatan Kopi"),
            ("kemasan", "Kemasan"),
            ("perkakas", "Perkakas & Hardware"),
        ),
        products=(
            ("MMI-ESP-2GR", "Mesin Espresso Komersial 2 Group", "mesin-kopi", "unit", 1, 1,
             "standard", 68_500_000),
            ("MMI-GRD-FB64", "Grinder Kopi Flat Burr 64 mm", "mesin-kopi", "unit", 1, 1,
             "standard", 9_850_000),
            ("MMI-RST-1KG", "Mesin Sangrai Kopi Kapasitas 1 kg", "mesin-kopi", "unit", 1, 1,
             "standard", 42_000_000),
            ("MMI-KTL-GN1L", "Ketel Leher Angsa Stainless 1 liter", "mesin-kopi", "pcs", 1, 2,
             "standard", 485_000),
            ("MMI-TMP-58", "Tamper Stainless 58 mm", "mesin-kopi", "pcs", 1, 2, "standard",
             275_000),
            ("MMI-PTR-600", "Pitcher Susu Stainless 600 ml", "mesin-kopi", "pcs", 1, 6,
             "standard", 145_000),
            ("MMI-CUP-DW8", "Paper Cup Double Wall 8 oz", "kemasan", "pcs", 500, 500,
             "standard", 1_150),
            ("MMI-GLS-PP12", "Gelas Plastik PP 12 oz dengan Tutup", "kemasan", "pcs", 1000,
             1000, "standard", 650),
            ("MMI-PCH-250V", "Pouch Kopi 250 g dengan Valve", "kemasan", "pcs", 100, 500,
             "standard", 2_400),
            ("MMI-BOR-13", "Mesin Bor Listrik 13 mm 650 W", "perkakas", "unit", 1, 1,
             "standard", 785_000),
            ("MMI-GRN-4IN", "Gerinda Tangan 4 inci 570 W", "perkakas", "unit", 1, 1,
             "standard", 595_000),
            ("MMI-KNC-12S", "Set Kunci Kombinasi 8–24 mm (12 pcs)", "perkakas", "set", 1, 2,
             "standard", 365_000),
        ),
        customer_list_buyer="kopi-kita",
        customer_list_name="Harga khusus CV Kopi Kita",
        relationships=(
            ("kopi-kita", "net", 14, 75_000_000, ("mesin-kopi", "kemasan")),
            ("toko-bangunan-sejahtera", "net", 30, 150_000_000, ("perkakas",)),
            ("rs-harapan", "prepaid", 0, 0, ()),
        ),
    ),
)
BASE_PRICE_LIST_NAME = "Daftar harga dasar"
# Variants: sku → (family head sku, attributes). Heads come before their variants above.
DEMO_VARIANTS = {
    "SDN-CAT-TBK5": (None, {"Isi": "5 L"}),
    "SDN-CAT-TBK5-PTH": ("SDN-CAT-TBK5", {"Warna": "Putih", "Isi": "5 L"}),
    "SDN-CAT-TBK5-ABU": ("SDN-CAT-TBK5", {"Warna": "Abu-abu", "Isi": "5 L"}),
}
# Product pictures drawn with Pillow when the demo loads: sku → paint colour.
DEMO_IMAGES = {"SDN-CAT-TBK5": (236, 232, 220), "SDN-CAT-TBK5-PTH": (250, 250, 247),
               "SDN-CAT-TBK5-ABU": (150, 152, 156)}
# Customer groups: (supplier, group, its price list, share of the base price, member buyers).
DEMO_GROUPS = (("sinar-distribusi", "Pelanggan grosir", "Harga grosir", Decimal("0.97"),
                ("kopi-kita",)),)
DEMO_WAREHOUSES = (("JKT", "Gudang Jakarta (Cakung)"), ("SBY", "Gudang Surabaya (Rungkut)"))
# Orders above this (IDR, incl. PPN) wait for the buyer's approver.
DEMO_APPROVAL_THRESHOLDS = (("toko-bangunan-sejahtera", Decimal("5000000")),)
# Each demo buyer's shared saved list with each of its suppliers.
DEMO_LIST_NAME = "Pesanan rutin bulanan"
# Who places each buyer's sample order.
DEMO_BUYERS = {"toko-bangunan-sejahtera": "lina", "rs-harapan": "ketut", "kopi-kita": "ayu"}
# Customer prices: (from quantity as a multiple of the MOQ, share of the base price).
# The first break (1) applies from a single unit.
CUSTOMER_BREAKS = ((1, Decimal("0.95")), (10, Decimal("0.90")), (50, Decimal("0.85")))


# --- CRM (jalin.crm) ----------------------------------------------------------------------

@dataclass(frozen=True)
class DemoAccount:
    name: str
    domain: str
    industry: str
    size: str
    tier: str
    status: str
    segment: str
    tax_id: str
    address: str
    phone: str
    # (first name, last name, job title, relationship role)
    contacts: tuple[tuple[str, str, str, str], ...]
    hub_slug: str = ""


@dataclass(frozen=True)
class DemoCrm:
    supplier: str
    admin: str
    owner: str
    segments: tuple[str, ...]
    accounts: tuple[DemoAccount, ...]


CRM = (
    DemoCrm(
        supplier="sinar-distribusi", admin="budi", owner="sari",
        segments=("Toko material", "Kontraktor", "Rumah sakit & klinik", "Horeca"),
        accounts=(
            DemoAccount(
                "PT Toko Bangunan Sejahtera", "tokobangunan.example", "Retail bahan bangunan",
                "medium", "key", "customer", "Toko material", "05.678.901.2-086.000",
                "Jl. Daan Mogot Km. 11 No. 25, Cengkareng, Jakarta Barat", "+62 21 5435 1188",
                (("Yusuf", "Hidayat", "Direktur", "decision_maker"),
                 ("Lina", "Marlina", "Staf Pembelian", "user"),
                 ("Siti", "Rahayu", "Kepala Keuangan", "billing")),
                hub_slug="toko-bangunan-sejahtera"),
            DemoAccount(
                "PT Rumah Sakit Harapan", "rsharapan.example", "Rumah sakit", "large",
                "strategic", "customer", "Rumah sakit & klinik", "06.789.012.3-618.000",
                "Jl. Raya Darmo No. 90, Surabaya", "+62 31 567 8890",
                (("Maria", "Simanjuntak", "Direktur Operasional", "decision_maker"),
                 ("Ketut", "Wirawan", "Kepala Instalasi Farmasi", "influencer"),
                 ("Nur", "Aini", "Manajer Keuangan", "billing")),
                hub_slug="rs-harapan"),
            DemoAccount(
                "CV Kopi Kita", "kopikita.example", "Kedai kopi", "small", "standard",
                "customer", "Horeca", "07.890.123.4-428.000", "Jl. Braga No. 41, Bandung",
                "+62 22 420 5511",
                (("Dimas", "Ramadhan", "Pemilik", "decision_maker"),
                 ("Ayu", "Permata", "Kepala Outlet", "user")),
                hub_slug="kopi-kita"),
            DemoAccount(
                "PT Graha Konstruksi Mandiri", "grahakonstruksi.example", "Kontraktor umum",
                "large", "key", "prospect", "Kontraktor", "08.123.456.7-432.000",
                "Jl. Ahmad Yani No. 88, Bekasi Selatan, Bekasi", "+62 21 8896 2231",
                (("Bambang", "Wicaksono", "Manajer Proyek", "decision_maker"),
                 ("Indah", "Puspitasari", "Staf Pengadaan", "user"),
                 ("Teguh", "Firmansyah", "Site Engineer", "technical"))),
            DemoAccount(
                "UD Material Jaya Abadi", "materialjaya.example", "Retail bahan bangunan",
                "small", "standard", "prospect", "Toko material", "",
                "Jl. Raya Pajajaran No. 12, Bogor", "+62 251 832 4410",
                (("Haji", "Sulaiman", "Pemilik", "decision_maker"),
                 ("Rizky", "Maulana", "Kepala Gudang", "user"))),
            DemoAccount(
                "RSU Bunda Medika", "bundamedika.example", "Rumah sakit", "medium", "key",
                "prospect", "Rumah sakit & klinik", "09.234.567.8-451.000",
                "Jl. MH Thamrin No. 7, Cikokol, Tangerang", "+62 21 5579 3300",
                (("dr. Ratna", "Sari", "Direktur Medis", "decision_maker"),
                 ("Fajar", "Kurniawan", "Kepala Logistik", "influencer"),
                 ("Melati", "Anggraeni", "Staf Akuntansi", "billing"))),
            DemoAccount(
                "Klinik Pratama Sehat Sentosa", "sehatsentosa.example", "Klinik", "micro",
                "long_tail", "prospect", "Rumah sakit & klinik", "",
                "Jl. Margonda Raya No. 301, Depok", "+62 21 7720 1456",
                (("dr. Arif", "Budiman", "Kepala Klinik", "decision_maker"),
                 ("Wulan", "Safitri", "Apoteker", "user"))),
            DemoAccount(
                "PT Wijaya Properti Indah", "wijayaproperti.example", "Pengembang properti",
                "large", "strategic", "prospect", "Kontraktor", "10.345.678.9-012.000",
                "Jl. TB Simatupang Kav. 18, Cilandak, Jakarta Selatan", "+62 21 7884 6020",
                (("Hartono", "Wijaya", "Direktur Utama", "decision_maker"),
                 ("Sri", "Mulyani", "Manajer Pengadaan", "influencer"),
                 ("Andika", "Pratama", "Staf Keuangan", "billing"))),
        ),
    ),
    DemoCrm(
        supplier="maju-manufaktur", admin="hendra", owner="putri",
        segments=("Kedai & roastery", "Hotel & restoran", "Retail perkakas", "Institusi"),
        accounts=(
            DemoAccount(
                "CV Kopi Kita", "kopikita.example", "Kedai kopi", "small", "key", "customer",
                "Kedai & roastery", "07.890.123.4-428.000", "Jl. Braga No. 41, Bandung",
                "+62 22 420 5511",
                (("Dimas", "Ramadhan", "Pemilik", "decision_maker"),
                 ("Ayu", "Permata", "Kepala Barista", "technical"),
                 ("Rina", "Anggraini", "Konsultan Keuangan", "billing")),
                hub_slug="kopi-kita"),
            DemoAccount(
                "PT Toko Bangunan Sejahtera", "tokobangunan.example", "Retail bahan bangunan",
                "medium", "standard", "customer", "Retail perkakas", "05.678.901.2-086.000",
                "Jl. Daan Mogot Km. 11 No. 25, Cengkareng, Jakarta Barat", "+62 21 5435 1188",
                (("Yusuf", "Hidayat", "Direktur", "decision_maker"),
                 ("Bambang", "Susilo", "Manajer Pembelian", "influencer")),
                hub_slug="toko-bangunan-sejahtera"),
            DemoAccount(
                "PT Rumah Sakit Harapan", "rsharapan.example", "Rumah sakit", "large",
                "standard", "customer", "Institusi", "06.789.012.3-618.000",
                "Jl. Raya Darmo No. 90, Surabaya", "+62 31 567 8890",
                (("Eko", "Nugroho", "Kepala Instalasi Gizi", "user"),
                 ("Nur", "Aini", "Manajer Keuangan", "billing")),
                hub_slug="rs-harapan"),
            DemoAccount(
                "PT Roastery Nusantara Jaya", "roasterynusantara.example", "Roastery kopi",
                "medium", "strategic", "prospect", "Kedai & roastery", "11.456.789.0-424.000",
                "Jl. Setiabudi No. 175, Bandung", "+62 22 203 7781",
                (("Galih", "Permana", "Head Roaster", "technical"),
                 ("Citra", "Kirana", "Direktur", "decision_maker"),
                 ("Yudi", "Setiadi", "Staf Pembelian", "user"))),
            DemoAccount(
                "CV Warung Kopi Senja", "kopisenja.example", "Kedai kopi", "micro",
                "long_tail", "prospect", "Kedai & roastery", "",
                "Jl. Prawirotaman No. 22, Yogyakarta", "+62 274 381 920",
                (("Bayu", "Aditya", "Pemilik", "decision_maker"),
                 ("Laras", "Wening", "Barista", "user"))),
            DemoAccount(
                "PT Hotel Samudra Indah", "samudraindah.example", "Perhotelan", "large", "key",
                "prospect", "Hotel & restoran", "12.567.890.1-901.000",
                "Jl. Pantai Kuta No. 8, Badung, Bali", "+62 361 751 066",
                (("Made", "Suardana", "Food & Beverage Manager", "decision_maker"),
                 ("Komang", "Ayu Lestari", "Purchasing Officer", "user"),
                 ("Wayan", "Sudarma", "Chief Engineer", "technical"))),
            DemoAccount(
                "Kafe Teras Kota", "teraskota.example", "Kafe & restoran", "small",
                "standard", "prospect", "Hotel & restoran", "",
                "Jl. Ijen No. 45, Malang", "+62 341 551 234",
                (("Arief", "Rachman", "Pemilik", "decision_maker"),
                 ("Dian", "Novitasari", "Supervisor Dapur", "user"))),
            DemoAccount(
                "PT Baja Konstruksi Timur", "bajatimur.example", "Fabrikasi baja", "medium",
                "standard", "prospect", "Retail perkakas", "13.678.901.2-801.000",
                "Kawasan Industri Makassar, Jl. Kima 10 Kav. D-5, Makassar", "+62 411 515 770",
                (("Andi", "Mappanyukki", "Manajer Workshop", "decision_maker"),
                 ("Irwan", "Syahputra", "Staf Gudang", "user"))),
        ),
    ),
)
SEGMENT_FIELD = "segmen"
WHATSAPP_FIELD = "whatsapp_aktif"
# Mobile prefixes of Indonesian operators (Telkomsel, Indosat, XL, Tri), for demo numbers.
MOBILE_PREFIXES = ("811", "812", "813", "821", "822", "852", "856", "857", "878", "896")


def _paint_can(colour):
    """A 320 × 320 PNG of a paint can in `colour`, drawn with Pillow."""
    image = Image.new("RGB", (320, 320), (244, 246, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle((70, 80, 250, 280), fill=colour, outline=(60, 64, 72), width=4)
    draw.ellipse((70, 55, 250, 105), fill=colour, outline=(60, 64, 72), width=4)
    draw.rectangle((90, 150, 230, 220), fill=(32, 92, 160))
    draw.text((110, 175), "CAT 5 L", fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _deliver_events():
    """Sequence and deliver until the outbox is drained (bounded: a failing consumer waits
    for its backoff and delivers nothing, which ends the loop)."""
    for _pass in range(MAX_EVENT_PASSES):
        outcome = events_process()
        if not outcome["sequenced"] and not outcome["delivered"]:
            return


def _demo_mobile(seed):
    """A valid-looking, stable Indonesian mobile number for a demo contact."""
    number = zlib.crc32(seed.encode())
    prefix = MOBILE_PREFIXES[number % len(MOBILE_PREFIXES)]
    return f"+62 {prefix} {number // 10 % 10_000:04d} {number // 100_000 % 10_000:04d}"


def _email_local(first, last):
    first = first.split()[-1]  # "dr. Ratna" -> "ratna"
    return slugify(f"{first} {last}").replace("-", ".")


class Command(BaseCommand):
    help = (
        "Load a realistic demo hub (operator, suppliers, buyers, a person for every role) and "
        "print the sign-in credentials. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password", default=DEFAULT_PASSWORD,
            help=f"The one password every demo person gets (default: {DEFAULT_PASSWORD}).",
        )
        parser.add_argument(
            "--force", action="store_true",
            help="Allow loading demo data although JALIN_ENV=production.",
        )

    def handle(self, *args, password, force, **options):
        if settings.JALIN_ENV == "production" and not force:
            raise CommandError(
                "Refusing to load demo data (with a published password) into a production "
                "instance (JALIN_ENV=production). Pass --force if you really mean it."
            )
        if len(password) < 8:
            raise CommandError("The demo password must have at least 8 characters.")

        with transaction.atomic():
            organizations, created_orgs = self._ensure_organizations()
            users, created_users = self._ensure_people(password)
            created_memberships = self._ensure_memberships(organizations, users)
            created = dict.fromkeys(
                ("categories", "products", "prices", "relationships", "fields", "accounts",
                 "contacts"), 0)
            for catalog in CATALOGS:
                self._ensure_catalog(catalog, organizations, users, created)
            created["addresses"] = self._ensure_addresses(organizations)
            self._ensure_catalog_extras(organizations, users, created)
            created["orders"] = created["returns"] = 0
            for catalog in CATALOGS:
                self._ensure_stock_and_orders(catalog, organizations, users, created)
            self._ensure_return(CATALOGS[0], organizations, users, created)
            created["lists"] = 0
            for catalog in CATALOGS:
                self._ensure_saved_lists(catalog, organizations, users, created)
            created["rfqs"] = self._ensure_rfq(CATALOGS[0], organizations, users)
            created["payments"] = 0
            for catalog in CATALOGS:
                self._ensure_payment(catalog, organizations, users, created)
        # The CRM learns which buyers a supplier trades with from the hub's relationship
        # events (it never reads the hub's tables); deliver them now so the CRM accounts below
        # can be linked without a worker running. A rerun adds whatever a failure left out.
        _deliver_events()
        with transaction.atomic():
            for crm in CRM:
                self._ensure_crm(crm, organizations, users, created)
        with transaction.atomic():
            from jalin.brm.demo import seed_portfolios

            created["portfolios"] = seed_portfolios(organizations=organizations, users=users)
        _deliver_events()  # the CRM timeline is fed by events, as it is by the worker
        from jalin.service.sla_demo import seed_sla  # service may import tenancy, not back

        with transaction.atomic():
            created["sla"] = seed_sla(supplier=organizations["sinar-distribusi"],
                                      admin=users["budi"])
        from jalin.service.demo import seed_service_desk

        with transaction.atomic():
            created["cases"] = seed_service_desk(
                supplier=organizations["sinar-distribusi"],
                buyer=organizations["toko-bangunan-sejahtera"], users=users)
        from jalin.brm.register_demo import seed_brm_registers

        with transaction.atomic():
            created["brm_registers"] = seed_brm_registers(organizations=organizations,
                                                          users=users)
        from jalin.sales.demo_quotes import seed_quotes

        with transaction.atomic():
            created["sales_quotes"] = seed_quotes(
                supplier=organizations["sinar-distribusi"],
                buyer=organizations["toko-bangunan-sejahtera"], users=users)
        from jalin.service.survey_demo import seed_surveys

        with transaction.atomic():
            created["surveys"] = seed_surveys(organization=organizations["sinar-distribusi"],
                                              actor=users["budi"])
        from jalin.sales.demo_forecast import seed_forecast

        with transaction.atomic():
            created["forecast"] = seed_forecast(supplier=organizations["sinar-distribusi"],
                                                users=users)
        from jalin.sales.demo_promos import seed_promos

        with transaction.atomic():
            created["promotions"] = seed_promos(
                supplier=organizations["sinar-distribusi"], actor=users["budi"],
                buyers=[organizations[slug] for slug in (
                    "toko-bangunan-sejahtera", "rs-harapan", "kopi-kita")])
        from jalin.sales.demo_pipeline import seed_pipeline

        with transaction.atomic():
            created["opportunities"] = seed_pipeline(
                supplier=organizations["sinar-distribusi"], users=users)
        from jalin.sales.demo_campaigns import seed_campaigns

        with transaction.atomic():
            created["campaigns"] = seed_campaigns(
                organization=organizations["sinar-distribusi"], actor=users["budi"])
        from jalin.sales.demo_experiments import seed_experiments

        with transaction.atomic():
            created["attributions"] = seed_experiments(
                supplier=organizations["sinar-distribusi"], actor=users["budi"])
        _deliver_events()

        self.stdout.write(self.style.SUCCESS(
            f"Demo hub ready: {created_orgs} organizations, {created_users} people and "
            f"{created_memberships} memberships created "
            f"({len(ORGANIZATIONS)} organizations and {len(PEOPLE)} people in the demo)."
        ))
        self.stdout.write(self.style.SUCCESS(
            f"Catalog and CRM of {len(CATALOGS)} suppliers: {created['categories']} categories, "
            f"{created['products']} products, {created['prices']} prices, "
            f"{created['relationships']} trading relationships, {created['fields']} custom "
            f"fields, {created['accounts']} accounts and {created['contacts']} contacts created."
        ))
        self.stdout.write(self.style.SUCCESS(
            f"Stock and orders: {created['orders']} sample orders and {created['returns']} "
            f"returns created; {created.get('shipments', 0)} shipped with "
            f"{created.get('invoices', 0)} invoices; "
            f"{created.get('payments', 0)} payments recorded."
        ))
        self.stdout.write(self.style.SUCCESS(
            f"Saved lists: {created['lists']} created."
        ))
        self.stdout.write(self.style.SUCCESS(
            f"Delivery addresses: {created['addresses']} created."
        ))
        self.stdout.write(self.style.SUCCESS(
            f"Quotes: {created['rfqs']} request for quotation with a sent quote created."
        ))
        self.stdout.write(self.style.SUCCESS(
            f"CRM history: {created.get('activities', 0)} activities created."
        ))
        self.stdout.write(self.style.SUCCESS(
            f"Service desk: {created.get('cases', 0)} cases created."
        ))
        self._print_credentials(password)

    def _ensure_organizations(self):
        organizations, created = {}, 0
        for spec in ORGANIZATIONS:
            existing = Organization.objects.filter(slug=spec.slug).first()
            if existing is None and spec.is_operator:
                # The hub has exactly one operator; reuse it if someone already made one.
                existing = Organization.objects.filter(is_operator=True).first()
            if existing is None:
                existing = organization_create(
                    name=spec.name, slug=spec.slug, legal_name=spec.legal_name,
                    tax_id=spec.tax_id, address=spec.address, city=spec.city,
                    is_operator=spec.is_operator, is_supplier=spec.is_supplier,
                    is_buyer=spec.is_buyer,
                )
                created += 1
            organizations[spec.slug] = existing
        return organizations, created

    def _ensure_people(self, password):
        User = get_user_model()
        users, created = {}, 0
        for spec in PEOPLE:
            user = User.objects.filter(username=spec.username).first()
            if user is None:
                user = User(
                    username=spec.username, first_name=spec.first_name,
                    last_name=spec.last_name, email=spec.email,
                    is_staff=spec.is_superuser, is_superuser=spec.is_superuser,
                )
                created += 1
            user.is_active = True
            user.set_password(password)
            user.save()
            users[spec.username] = user
        return users, created

    def _ensure_memberships(self, organizations, users):
        created = 0
        for spec in PEOPLE:
            for slug, role in spec.memberships:
                organization, user = organizations[slug], users[spec.username]
                if Membership.objects.filter(user=user, organization=organization).exists():
                    # Left as it is: an admin may have changed it on purpose since.
                    continue
                membership_create(user=user, organization=organization, role=role)
                created += 1
        return created

    def _ensure_catalog(self, spec, organizations, users, created):
        """Categories, products, a base and a customer price list, and trading terms with
        the buyers; each looked up by its natural key first so a rerun adds only gaps."""
        supplier, actor = organizations[spec.supplier], users[spec.admin]
        categories = {}
        for slug, name in spec.categories:
            category = Category.objects.filter(supplier=supplier, slug=slug).first()
            if category is None:
                category = category_create(supplier=supplier, actor=actor, name=name, slug=slug)
                created["categories"] += 1
            categories[slug] = category

        products = []
        for sku, name, category, unit, pack_size, moq, tax_class, price in spec.products:
            product = Product.objects.filter(supplier=supplier, sku=sku).first()
            if product is None:
                parent_sku, attributes = DEMO_VARIANTS.get(sku, (None, {}))
                product = product_create(
                    supplier=supplier, actor=actor, sku=sku, name=name,
                    category=categories[category], unit=unit, pack_size=pack_size,
                    min_order_quantity=moq, tax_class=tax_class, attributes=attributes,
                    variant_of=Product.objects.get(supplier=supplier, sku=parent_sku)
                    if parent_sku else None,
                )
                created["products"] += 1
            products.append((product, category, Decimal(price)))

        base = PriceList.objects.filter(supplier=supplier, is_base=True).first()
        if base is None:
            base = price_list_create(supplier=supplier, actor=actor, name=BASE_PRICE_LIST_NAME,
                                     currency="IDR", is_base=True)
        customer_list = PriceList.objects.filter(
            supplier=supplier, is_base=False, name=spec.customer_list_name).first()
        if customer_list is None:
            customer_list = price_list_create(supplier=supplier, actor=actor,
                                              name=spec.customer_list_name, currency="IDR")
        entitled = next(rel[4] for rel in spec.relationships
                        if rel[0] == spec.customer_list_buyer)
        for product, category, price in products:
            self._ensure_price(base, product, 1, price, actor, created)
            if category in entitled:
                for multiple, share in CUSTOMER_BREAKS:
                    # Rupiah prices round to whole hundreds (whole rupiah below Rp 10.000).
                    amount = (price * share).quantize(Decimal("1E2") if price >= 10_000
                                                      else Decimal("1"))
                    # The first break starts at 1: the shop shows the price for one
                    # unit, and the minimum order is enforced on its own.
                    from_quantity = product.min_order_quantity * multiple if multiple > 1 else 1
                    self._ensure_price(customer_list, product, from_quantity, amount, actor,
                                       created)

        for buyer_slug, terms, days, credit_limit, scope in spec.relationships:
            buyer = organizations[buyer_slug]
            if TradingRelationship.objects.filter(supplier=supplier, buyer=buyer).exists():
                continue  # Its terms may have been edited since; they stay as they are.
            relationship_create(
                supplier=supplier, buyer=buyer, actor=actor, payment_terms=terms,
                payment_days=days, credit_limit=Decimal(credit_limit), currency="IDR",
                price_list=customer_list if buyer_slug == spec.customer_list_buyer else None,
                catalog_scope="categories" if scope else "all",
                categories=[categories[slug] for slug in scope],
            )
            created["relationships"] += 1

    def _ensure_catalog_extras(self, organizations, users, created):
        """Pictures of the demo product family (drawn with Pillow, uploaded through the image
        service) and a customer group with its own price list; only what is missing."""
        created.setdefault("images", 0)
        for catalog in CATALOGS:
            supplier, actor = organizations[catalog.supplier], users[catalog.admin]
            for product in Product.objects.filter(supplier=supplier, sku__in=DEMO_IMAGES):
                if product.images.exists():
                    continue
                image_upload(product=product, actor=actor, alt_text=product.name,
                             uploaded=SimpleUploadedFile(f"{product.sku}.png",
                                                         _paint_can(DEMO_IMAGES[product.sku]),
                                                         content_type="image/png"))
                created["images"] += 1
        for supplier_slug, name, list_name, share, members in DEMO_GROUPS:
            supplier = organizations[supplier_slug]
            actor = users[next(c.admin for c in CATALOGS if c.supplier == supplier_slug)]
            if CustomerGroup.objects.filter(supplier=supplier, name=name).exists():
                continue  # It may have been edited since; it stays as it is.
            price_list = PriceList.objects.filter(supplier=supplier, name=list_name).first() \
                or price_list_create(supplier=supplier, actor=actor, name=list_name,
                                     currency="IDR")
            for item in PriceListItem.objects.filter(price_list__supplier=supplier,
                                                     price_list__is_base=True, min_quantity=1):
                amount = (item.unit_price * share).quantize(Decimal("1E2"))
                self._ensure_price(price_list, item.product, 1, amount, actor, created)
            group = customer_group_create(supplier=supplier, actor=actor, name=name,
                                          price_list=price_list)
            for buyer_slug in members:
                relationship = TradingRelationship.objects.get(
                    supplier=supplier, buyer=organizations[buyer_slug])
                if relationship.group_id is None:
                    relationship_update(relationship=relationship, actor=actor,
                                        version=relationship.version, group=group)

    def _ensure_stock_and_orders(self, spec, organizations, users, created):
        """Two warehouses with stock of every product (a low-stock threshold of five minimum
        orders), an approval threshold for one buyer, and one sample order from each buyer
        of this supplier; each only if missing, so a rerun adds nothing twice."""
        supplier, actor = organizations[spec.supplier], users[spec.admin]
        warehouses = []
        for code, name in DEMO_WAREHOUSES:
            warehouse = Warehouse.objects.filter(supplier=supplier, code=code).first()
            if warehouse is None:
                warehouse = warehouse_create(supplier=supplier, actor=actor, code=code,
                                             name=name)
            warehouses.append(warehouse)
        for index, product in enumerate(Product.objects.filter(supplier=supplier)
                                        .order_by("sku")):
            warehouse = warehouses[index % len(warehouses)]
            if StockLevel.objects.filter(warehouse=warehouse, product=product).exists():
                continue
            stock_adjust(warehouse=warehouse, product=product,
                         delta=product.min_order_quantity * (40 if index % 5 else 6),
                         reason="Stok awal demo", actor=actor,
                         low_stock_threshold=product.min_order_quantity * 5)
        # The first product is stocked in both warehouses, so a large order of it is split
        # over them (see the supplier's order page).
        spread = Product.objects.filter(supplier=supplier).order_by("sku").first()
        if spread is not None and not StockLevel.objects.filter(
                warehouse=warehouses[1], product=spread).exists():
            stock_adjust(warehouse=warehouses[1], product=spread,
                         delta=spread.min_order_quantity * 4, reason="Stok awal demo",
                         actor=actor, low_stock_threshold=spread.min_order_quantity * 2)
        for slug, threshold in DEMO_APPROVAL_THRESHOLDS:
            buyer = organizations[slug]
            if not BuyerSettings.objects.filter(buyer=buyer).exists():
                BuyerSettings.objects.create(buyer=buyer, approval_threshold=threshold,
                                             currency="IDR")
        for buyer_slug, *_terms in spec.relationships:
            buyer = organizations[buyer_slug]
            if Order.objects.filter(supplier=supplier, buyer=buyer).exists():
                continue
            relationship = TradingRelationship.objects.get(supplier=supplier, buyer=buyer)
            products = list(entitled_products(relationship=relationship).order_by("sku")[:2])
            order_place(relationship=relationship, actor=users[DEMO_BUYERS[buyer_slug]],
                        lines=[(p.pk, p.min_order_quantity) for p in products],
                        buyer_reference=f"PO-DEMO-{supplier.slug[:4].upper()}")
            created["orders"] += 1
        self._ship_sample_orders(supplier, actor, created)

    @staticmethod
    def _ship_sample_orders(supplier, actor, created):
        """Confirm and ship each sample order still waiting to be confirmed: the supplier
        invoices per shipment, so each gets a shipment and its invoice. A rerun finds them
        shipped and does nothing."""
        membership = Membership.objects.get(user=actor, organization=supplier)
        for order in (Order.objects.filter(supplier=supplier, status=OrderStatus.SUBMITTED,
                                           buyer_reference__startswith="PO-DEMO-")
                      .order_by("id")):
            order = order_transition(order=order, action="confirm", membership=membership,
                                     actor=actor)
            shipment = ship(order=order, membership=membership, actor=actor,
                            quantities={line.pk: line.quantity for line in order.lines.all()},
                            carrier="JNE", tracking=f"DEMO{order.number:06d}")
            created["shipments"] = created.get("shipments", 0) + 1
            if getattr(shipment, "invoice", None) is not None:
                created["invoices"] = created.get("invoices", 0) + 1

    @staticmethod
    def _ensure_addresses(organizations):
        """Each buyer's office as its default shipping and billing address (before the sample
        orders, which then carry it); only for buyers without any address."""
        from jalin.hub.addresses import address_create
        from jalin.hub.models import BuyerAddress

        made = 0
        for spec in ORGANIZATIONS:
            buyer = organizations[spec.slug]
            if not spec.is_buyer or BuyerAddress.objects.filter(buyer=buyer).exists():
                continue
            admin = (Membership.objects.filter(organization=buyer, role=Role.ORG_ADMIN)
                     .select_related("user").order_by("id").first())
            address_create(buyer=buyer, actor=admin.user if admin else None,
                           label="Kantor pusat", recipient="Bagian Penerimaan Barang",
                           street=spec.address, city=spec.city, country="ID",
                           is_default_shipping=True, is_default_billing=True)
            made += 1
        return made

    def _ensure_saved_lists(self, spec, organizations, users, created):
        """One shared saved list per buyer of this supplier: three entitled products at their
        minimum order quantity, owned by the buyer's demo person; only if missing."""
        supplier = organizations[spec.supplier]
        for buyer_slug, *_terms in spec.relationships:
            buyer, user = organizations[buyer_slug], users[DEMO_BUYERS[buyer_slug]]
            if SavedList.objects.filter(buyer=buyer, supplier=supplier, owner=user,
                                        name=DEMO_LIST_NAME).exists():
                continue
            relationship = TradingRelationship.objects.get(supplier=supplier, buyer=buyer)
            products = list(entitled_products(relationship=relationship).order_by("-sku")[:3])
            list_create(relationship=relationship, user=user, name=DEMO_LIST_NAME,
                        shared=True,
                        quantities={p.pk: p.min_order_quantity for p in products})
            created["lists"] += 1

    def _ensure_payment(self, spec, organizations, users, created):
        """Once the supplier has invoices: its oldest open invoice is paid by bank transfer
        (one payment per supplier, kept by its idempotency key, so a rerun adds nothing)."""
        from jalin.hub.models import Invoice, InvoiceKind, Payment
        from jalin.hub.payments import OPEN_INVOICE_STATUSES, payment_record

        supplier, actor = organizations[spec.supplier], users[spec.admin]
        key = f"demo:payment:{supplier.slug}"
        if Payment.objects.filter(supplier=supplier, idempotency_key=key).exists():
            return
        invoice = (Invoice.objects.filter(supplier=supplier, kind=InvoiceKind.INVOICE,
                                          status__in=OPEN_INVOICE_STATUSES)
                   .select_related("relationship").order_by("due_date", "id").first())
        if invoice is None:
            return
        payment_record(relationship=invoice.relationship, amount=invoice.balance,
                       currency=invoice.currency, received_on=invoice.issue_date,
                       method="bank_transfer", reference=f"TRF-DEMO-{invoice.number}",
                       actor=actor, allocations=[(invoice.pk, invoice.balance)],
                       idempotency_key=key)
        created["payments"] += 1

    @staticmethod
    def _ensure_return(spec, organizations, users, created):
        """One delivered order of the first supplier's last buyer with a return its buyer
        requested (two units arrived damaged), unless the supplier has a return already."""
        from jalin.hub.models import ReturnRequest
        from jalin.hub.returns import return_request_create
        from jalin.hub.testing import make_delivered_order

        supplier, actor = organizations[spec.supplier], users[spec.admin]
        if ReturnRequest.objects.filter(supplier=supplier).exists():
            return
        buyer_slug = spec.relationships[-1][0]
        buyer, buyer_user = organizations[buyer_slug], users[DEMO_BUYERS[buyer_slug]]
        relationship = TradingRelationship.objects.get(supplier=supplier, buyer=buyer)
        product = (entitled_products(relationship=relationship)
                   .filter(stock__on_hand__gte=F("stock__reserved") + F("min_order_quantity") * 2)
                   .order_by("sku").distinct().first())
        if product is None:
            return
        order = make_delivered_order(
            relationship=relationship, actor=actor,
            supplier_membership=Membership.objects.get(user=actor, organization=supplier),
            lines=[(product.pk, product.min_order_quantity * 2)])
        return_request_create(
            order=order, membership=Membership.objects.get(user=buyer_user, organization=buyer),
            actor=buyer_user, lines=[(order.lines.get().pk, 2, "damaged")],
            reason="Kemasan rusak saat diterima", note="Dua unit tiba dengan kemasan sobek.")
        created["returns"] += 1

    @staticmethod
    def _ensure_rfq(spec, organizations, users):
        """One request for quotation from the supplier's first buyer, answered by a sent quote
        5 % under the buyer's current prices, valid for two weeks; only if that buyer has no
        RFQ with the supplier yet. Returns how many were created (0 or 1)."""
        supplier = organizations[spec.supplier]
        buyer_slug = spec.relationships[0][0]
        buyer = organizations[buyer_slug]
        if Rfq.objects.filter(supplier=supplier, buyer=buyer).exists():
            return 0
        relationship = TradingRelationship.objects.get(supplier=supplier, buyer=buyer)
        products = list(entitled_products(relationship=relationship).order_by("sku")[:2])
        rfq = rfq_create(
            relationship=relationship, actor=users[DEMO_BUYERS[buyer_slug]],
            title="Penawaran harga untuk pembelian kuartal depan",
            note="Mohon harga terbaik untuk jumlah di bawah ini, termasuk ongkos kirim.",
            needed_by=timezone.localdate() + timedelta(days=21),
            lines=[{"product_id": p.pk, "quantity": p.min_order_quantity * 20}
                   for p in products])
        admin = users[spec.admin]
        membership = Membership.objects.get(user=admin, organization=supplier)
        lines = []
        for line in rfq.lines.all():
            price = prices_for(relationship=relationship, product_ids=[line.product_id],
                               quantity=line.quantity,
                               on_date=timezone.localdate()).get(line.product_id)
            amount = price.amount if price else Decimal("100000")
            lines.append({"rfq_line_id": line.pk, "lead_time_days": 7,
                          "unit_price": (amount * Decimal("0.95")).quantize(Decimal("1"))})
        quote_save(rfq=rfq, membership=membership, actor=admin, lines=lines,
                   valid_until=timezone.localdate() + timedelta(days=14),
                   note="Harga sudah termasuk pengiriman ke Jakarta.")
        return 1

    @staticmethod
    def _ensure_price(price_list, product, min_quantity, amount, actor, created):
        if PriceListItem.objects.filter(price_list=price_list, product=product,
                                        min_quantity=min_quantity).exists():
            return  # An upsert would overwrite a price someone set since, and audit it again.
        price_list_item_upsert(price_list=price_list, product=product,
                               min_quantity=min_quantity, unit_price=amount, actor=actor)
        created["prices"] += 1

    def _ensure_crm(self, spec, organizations, users, created):
        """Custom fields, then accounts (looked up by name) and their contacts (by email)."""
        organization, actor = organizations[spec.supplier], users[spec.admin]
        definitions = (
            (CustomFieldTarget.ACCOUNT, SEGMENT_FIELD, "Segmen pasar", "choice",
             list(spec.segments)),
            (CustomFieldTarget.CONTACT, WHATSAPP_FIELD, "Bisa dihubungi lewat WhatsApp",
             "boolean", None),
        )
        for position, (target, key, label, kind, choices) in enumerate(definitions):
            if not CustomFieldDefinition.objects.filter(organization=organization,
                                                        target=target, key=key).exists():
                custom_field_define(organization=organization, actor=actor, target=target,
                                    key=key, label=label, type=kind, choices=choices,
                                    position=position)
                created["fields"] += 1
        owner = users[spec.owner]
        if not Membership.objects.filter(user=owner, organization=organization,
                                         is_active=True).exists():
            owner = None  # Someone removed the salesperson: leave the accounts unassigned.

        for account_spec in spec.accounts:
            account = Account.objects.filter(organization=organization,
                                             name=account_spec.name).first()
            if account is None:
                hub_organization = organizations[account_spec.hub_slug] if (
                    account_spec.hub_slug
                    and TradingRelationship.objects.filter(
                        supplier=organization, buyer=organizations[account_spec.hub_slug]
                    ).exists()
                ) else None
                account = account_create(
                    organization=organization, actor=actor, name=account_spec.name,
                    industry=account_spec.industry, size=account_spec.size,
                    tier=account_spec.tier, status=account_spec.status, owner=owner,
                    tax_id=account_spec.tax_id, billing_address=account_spec.address,
                    shipping_address=account_spec.address,
                    website=f"https://www.{account_spec.domain}", phone=account_spec.phone,
                    hub_organization=hub_organization,
                    tags=["Pelanggan hub"] if hub_organization else ["Prospek"],
                    custom={SEGMENT_FIELD: account_spec.segment},
                )
                created["accounts"] += 1
            for index, (first, last, title, role) in enumerate(account_spec.contacts):
                email = f"{_email_local(first, last)}@{account_spec.domain}"
                if Contact.objects.filter(organization=organization, email=email).exists():
                    continue
                contact_create(
                    organization=organization, actor=actor, first_name=first, last_name=last,
                    job_title=title, email=email, phone=_demo_mobile(email), account=account,
                    relationship_role=role, email_opt_in=index != 1, phone_opt_in=True,
                    owner=owner, custom={WHATSAPP_FIELD: index != 2},
                )
                created["contacts"] += 1
            self._ensure_crm_history(account, organization, actor, owner or actor, created)

    def _ensure_crm_history(self, account, organization, actor, owner, created):
        """A logged call, a meeting this week, a task due today and a thread post with a
        mention, so My day, the calendar, the thread and the timeline have something to show.
        Skipped for an account that already has activities (a rerun adds nothing)."""
        if account.activities.exists():
            return
        contact = account.contacts.order_by("pk").first()
        if contact is None:
            return
        # Demo times are relative to when the demo is loaded, on the hour, Jakarta time.
        now = timezone.localtime().replace(minute=0, second=0, microsecond=0)
        activity_create(
            organization=organization, actor=actor, kind="call", status="done",
            subject=f"Follow-up pesanan {account.name}", account=account, contact=contact,
            direction="outbound", duration_seconds=420, outcome="connected", assignee=owner,
            due_at=now - timedelta(days=2),
            notes="Menanyakan jadwal pengiriman berikutnya; minta penawaran untuk kuartal depan.",
        )
        meeting_start = now + timedelta(days=2, hours=1)
        activity_create(
            organization=organization, actor=actor, kind="meeting",
            subject=f"Review kuartalan dengan {account.name}", account=account,
            contact=contact, assignee=owner, due_at=meeting_start,
            ends_at=meeting_start + timedelta(hours=1), location=account.billing_address[:300],
            attendee_contacts=[contact], attendee_users=[owner],
            remind_at=meeting_start - timedelta(hours=1),
        )
        activity_create(
            organization=organization, actor=actor, kind="task",
            subject=f"Kirim katalog terbaru ke {contact.full_name}", account=account,
            contact=contact, assignee=owner, due_at=now + timedelta(hours=3),
        )
        comment_post(
            organization=organization, actor=actor, record=account,
            body=f"@{owner.get_username()} tolong siapkan penawaran harga untuk review "
                 "kuartalan; mereka minta diskon volume.",
        )
        created["activities"] = created.get("activities", 0) + 3

    def _print_credentials(self, password):
        rows = [("Username", "Password", "Organization", "Role")]
        memberships = (
            Membership.objects.filter(user__username__in=[p.username for p in PEOPLE])
            .select_related("user", "organization")
        )
        by_user = {}
        for membership in memberships:
            by_user.setdefault(membership.user.username, []).append(membership)
        for spec in PEOPLE:
            for index, membership in enumerate(by_user.get(spec.username, [])):
                role = Role(membership.role).label if membership.role in Role.values else (
                    membership.role
                )
                if not membership.is_active:
                    role = f"{role} (removed)"
                if spec.is_superuser and index == 0:
                    role = f"{role} + superuser (/admin/)"
                rows.append((
                    spec.username if index == 0 else "",
                    password if index == 0 else "",
                    membership.organization.name,
                    str(role),
                ))
        widths = [max(len(row[col]) for row in rows) for col in range(4)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            .rstrip()
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        self.stdout.write("")
        self.stdout.write("\n".join(lines))
        self.stdout.write("")
        self.stdout.write(f"Sign in at {LOGIN_URL}  (admin site: {ADMIN_URL})")
        self.stdout.write(
            "rina works for two companies: sign in as rina to try the organization switcher."
        )
