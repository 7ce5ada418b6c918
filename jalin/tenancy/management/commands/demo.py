"""`jalin demo`: load a small, realistic hub to click through.

An operator, three suppliers (one of them also buys), three buyers, and people holding every
role, plus one person who works for two companies (to try the organization switcher) and a
superuser for /admin/. Everyone shares one password, printed at the end.

Running it again creates only what is missing and resets the demo people's passwords to the
shared one, so the printed table is always true. Organizations and memberships go through the
tenancy services, so the audit log and the event outbox see them like any other change.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from jalin.tenancy.models import Membership, Organization
from jalin.tenancy.roles import Role
from jalin.tenancy.services import membership_create, organization_create

DEFAULT_PASSWORD = "jalin-demo"  # noqa: S105 - published on purpose: demo data only
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

        self.stdout.write(self.style.SUCCESS(
            f"Demo hub ready: {created_orgs} organizations, {created_users} people and "
            f"{created_memberships} memberships created "
            f"({len(ORGANIZATIONS)} organizations and {len(PEOPLE)} people in the demo)."
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
