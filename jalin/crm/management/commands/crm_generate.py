"""`jalin crm_generate`: fill an organization's CRM with realistic fake data, fast.

    jalin crm_generate --org acme --contacts 1000000 --accounts 100000 --activities 5000000

Indonesian and international companies and people (built from name and syllable lists in
this file, seeded so a run is reproducible), job titles, e-mails, E.164 phones, relationship
roles, owners spread over the organization's members, a few custom field values, the search
documents of accounts and contacts (through jalin.crm.search.index.document_for_*), and a few
timeline lines per account.

On PostgreSQL rows are streamed with COPY (psycopg 3 `cursor.copy()`), primary keys are
reserved up front by moving each table's identity sequence, and the tables are ANALYZEd at the
end. On SQLite it falls back to `bulk_create` in batches. Generated timeline lines have
negative event ids so they never collide with real events.
"""

import itertools
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from jalin.core.bulkload import TableWriter, secondary_indexes_dropped
from jalin.crm.models import (
    Account,
    Activity,
    Contact,
    CustomFieldDefinition,
    SearchDocument,
    TimelineEntry,
)
from jalin.crm.search import index as search_index
from jalin.tenancy.models import Membership, Organization

# --- Name material --------------------------------------------------------------------------


def _words(text):
    return tuple(text.split())


ID_FIRST = _words(
    "Adi Agus Ahmad Aditya Agung Andi Anisa Arif Ayu Bambang Bayu Budi Cahya Citra Dedi Dewi "
    "Dian Dimas Eka Endang Fajar Fitri Gita Hadi Hendra Indah Indra Intan Joko Kartika Kurnia "
    "Lestari Made Maya Mega Muhammad Nanda Nur Nyoman Puspita Putra Putri Rahmat Rani Ratna "
    "Reza Rina Rizki Sari Setiawan Siti Sri Taufik Teguh Tri Wahyu Wayan Wulan Yanti Yoga "
    "Yudi Yulia Zainal Ketut Gede Ratih Bagus Galih Larasati Anggun Sinta Bima Arjuna"
)
ID_LAST = _words(
    "Santoso Wijaya Hidayat Saputra Kusuma Pratama Nugroho Wibowo Gunawan Setiawan Susanto "
    "Halim Lubis Siregar Nasution Harahap Simanjuntak Sitompul Pangaribuan Tanjung Sinaga "
    "Purnomo Rahayu Kurniawan Suryadi Hartono Budiman Salim Tanoto Lim Tan Wongso Sutanto "
    "Hakim Rahman Firmansyah Permana Utomo Prasetyo Maulana Ramadhan Syahputra Manurung "
    "Sembiring Ginting Tarigan Putri Anggraini Handoko Widjaja Sudirman Suharto Subagyo"
)
INTL_FIRST = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara "
    "Wei Li Hiroshi Yuki Min-jun Ji-woo Arjun Priya Rahul Ananya Ahmed Fatima Omar Sofia "
    "Lucas Emma Noah Olivia Liam Mia Chen Mei Nguyen Thi Somchai Siriporn Juan Maria"
)
INTL_LAST = _words(
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Anderson Thomas Moore "
    "Wang Zhang Liu Chen Tanaka Suzuki Sato Kim Lee Park Sharma Patel Gupta Singh Khan "
    "Nguyen Tran Pham Chaiyaporn Garcia Rodriguez Martinez Muller Schmidt Rossi Dubois Silva"
)
SYLLABLES = _words("ba ka ma sa ta ra na ja wa la da ga pa ha ya sin tun jaya mas dar tir kar "
             "lan man sen pur gun bin rat dan war")
ID_COMPANY_WORDS = _words(
    "Sejahtera Makmur Abadi Jaya Nusantara Mandiri Sentosa Perkasa Utama Prima Lestari "
    "Gemilang Cemerlang Bersama Indah Agung Sukses Bintang Mulia Karya Cipta Mitra Sinar "
    "Harapan Berkah Global Internasional Persada Raya Samudra Buana Cahaya"
)
ID_COMPANY_TRADES = _words(
    "Teknologi Logistik Distribusi Niaga Konstruksi Farmasi Agro Pangan Tekstil Energi "
    "Elektronik Kimia Plastik Kemasan Transportasi Perdagangan Industri Properti Media"
)
INTL_COMPANY_WORDS = _words(
    "Pacific Global Summit Harbor Apex Vertex Crescent Meridian Atlas Orient Silver Golden "
    "Blue Green Northstar Horizon Pioneer Sterling Evergreen Quantum Unity Coastal Lotus"
)
INTL_COMPANY_TRADES = _words(
    "Trading Logistics Foods Systems Industries Solutions Supply Partners Holdings Materials "
    "Packaging Components Chemicals Networks Labs"
)
INTL_SUFFIXES = ("Pte Ltd", "Ltd", "Inc", "GmbH", "Co., Ltd", "Sdn Bhd", "LLC", "BV")
CITIES = ("Jakarta", "Surabaya", "Bandung", "Medan", "Semarang", "Makassar", "Palembang",
          "Denpasar", "Yogyakarta", "Balikpapan", "Batam", "Malang", "Tangerang", "Bekasi")
STREETS = ("Jl. Sudirman", "Jl. Thamrin", "Jl. Gatot Subroto", "Jl. Diponegoro",
           "Jl. Ahmad Yani", "Jl. Pemuda", "Jl. Asia Afrika", "Jl. Gajah Mada", "Jl. Merdeka",
           "Jl. Hayam Wuruk", "Jl. Rasuna Said", "Jl. Kuningan")
INDUSTRIES = ("Manufacturing", "Retail", "Logistics", "Food & beverage", "Construction",
              "Healthcare", "Pharmaceuticals", "Agriculture", "Textiles", "Electronics",
              "Energy", "Hospitality", "Education", "Financial services", "Automotive",
              "Telecommunications", "Mining", "Government")
JOB_TITLES = (
    "Direktur Utama", "Direktur Keuangan", "Manajer Pembelian", "Manajer Operasional",
    "Kepala Gudang", "Staf Pengadaan", "Manajer IT", "Staf Akuntansi", "Sekretaris",
    "Purchasing Manager", "Procurement Officer", "Chief Executive Officer", "CFO",
    "Head of Supply Chain", "Operations Manager", "IT Manager", "Finance Manager",
    "Sales Director", "Office Manager", "Warehouse Supervisor", "Buyer", "Owner",
)
ROLES = ("decision_maker", "influencer", "user", "billing", "technical", "", "")
SUBJECTS = {
    "call": ("Follow-up call", "Telepon konfirmasi pesanan", "Check payment status",
             "Tanya kebutuhan stok bulan depan", "Intro call", "Discuss renewal"),
    "meeting": ("Quarterly business review", "Rapat negosiasi harga", "Site visit",
                "Product demo", "Kunjungan ke gudang", "Contract signing"),
    "task": ("Send quotation", "Kirim katalog terbaru", "Prepare proposal",
             "Update price list", "Siapkan invoice", "Check credit limit"),
    "note": ("Customer prefers WhatsApp", "Catatan kunjungan", "Budget approved for Q3",
             "Pergantian PIC pembelian", "Complaint about late delivery"),
}
KINDS = ("call", "call", "task", "task", "meeting", "note")
STATUS_WEIGHTS = (("open", 3), ("done", 6), ("cancelled", 1))
OUTCOMES = ("connected", "no_answer", "busy", "voicemail", "connected", "connected")

# Loads at least this big drop the table's secondary indexes and rebuild them afterwards.
BULK_THRESHOLD = 200_000

ACCOUNT_CUSTOM = {"segment": ("SME", "Corporate", "Government", "BUMN", "Distributor")}
CONTACT_CUSTOM = {"preferred_language": ("id", "en")}


def _slug(text):
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _search_row(document):
    return {"organization_id": document.organization_id, "kind": document.kind,
            "object_id": document.object_id, "title": document.title,
            "subtitle": document.subtitle, "body": document.body,
            "updated_at": document.updated_at}


# --- The command ----------------------------------------------------------------------------


class Command(BaseCommand):
    help = "Generate realistic fake CRM data (accounts, contacts, activities) for an org."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="slug of the organization")
        parser.add_argument("--contacts", type=int, default=10000)
        parser.add_argument("--accounts", type=int, default=1000)
        parser.add_argument("--activities", type=int, default=50000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=50000)
        parser.add_argument("--timeline-per-account", type=int, default=3)
        parser.add_argument("--keep-indexes", action="store_true",
                            help="never drop and rebuild indexes around big loads (use on a "
                                 "database others are using)")
        parser.add_argument("--index-activities", action="store_true",
                            help="also write search documents for activities (slower)")

    def handle(self, *args, org, contacts, accounts, activities, seed, batch,
               timeline_per_account, index_activities, keep_indexes, **options):
        if min(contacts, accounts, activities, timeline_per_account) < 0 or batch < 1:
            raise CommandError("Counts must not be negative and --batch must be positive.")
        if accounts == 0 and contacts:
            raise CommandError("Contacts need at least one account (--accounts).")
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with the short name {org!r}.")
        members = list(Membership.objects.filter(organization=organization, is_active=True)
                       .order_by("user_id").values_list("user_id", flat=True))
        if not members:
            raise CommandError("The organization has no active members to own the records.")
        self.rng = random.Random(seed)
        self.organization = organization
        self.members = members
        self.batch = batch
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.out = self.stdout
        started = time.monotonic()
        self._ensure_custom_fields()
        account_ids, account_names, domains = self._accounts(accounts, timeline_per_account)
        with secondary_indexes_dropped([Contact, SearchDocument], out=self.out,
                                       enabled=contacts >= BULK_THRESHOLD and not keep_indexes):
            contact_accounts = self._contacts(contacts, account_ids, account_names, domains)
        with secondary_indexes_dropped([Activity], out=self.out,
                                       enabled=activities >= BULK_THRESHOLD and not keep_indexes):
            self._activities(activities, account_ids, contact_accounts, index_activities)
        if connection.vendor == "postgresql":
            self.out.write("Analyzing tables...\n")
            with connection.cursor() as cursor:
                for model in (Account, Contact, Activity, SearchDocument, TimelineEntry):
                    cursor.execute(f'ANALYZE "{model._meta.db_table}"')
        total = time.monotonic() - started
        self.out.write(self.style.SUCCESS(
            f"Generated {accounts:,} accounts, {contacts:,} contacts, {activities:,} "
            f"activities for {organization.slug} in {total:,.1f} s."))

    # -- helpers --

    def _when(self, days_back=3 * 365):
        return self.now - timedelta(seconds=self.rng.randrange(days_back * 86400))

    def _ensure_custom_fields(self):
        specs = [("account", key, choices) for key, choices in ACCOUNT_CUSTOM.items()]
        specs += [("contact", key, choices) for key, choices in CONTACT_CUSTOM.items()]
        for target, key, choices in specs:
            CustomFieldDefinition.objects.get_or_create(
                organization=self.organization, target=target, key=key,
                defaults={"label": key.replace("_", " ").capitalize(), "type": "choice",
                          "choices": list(choices)})

    def _company(self, index):
        rng = self.rng
        if rng.random() < 0.75:
            stem = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
            prefix = rng.choice(("PT", "PT", "PT", "CV", "UD"))
            words = [prefix, stem, rng.choice(ID_COMPANY_WORDS)]
            if rng.random() < 0.5:
                words.append(rng.choice(ID_COMPANY_TRADES))
            if prefix == "PT" and rng.random() < 0.08:
                words.append("Tbk")
            domain = f"{_slug(stem + words[2])}.co.id"
        else:
            first = rng.choice(INTL_COMPANY_WORDS)
            stem = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
            words = [first, stem, rng.choice(INTL_COMPANY_TRADES), rng.choice(INTL_SUFFIXES)]
            domain = f"{_slug(first + stem)}.com"
        return " ".join(words), domain

    def _mobile(self):
        rng = self.rng
        roll = rng.random()
        if roll < 0.85:
            return f"+628{rng.randint(11, 59)}{rng.randrange(10**7, 10**8)}"
        if roll < 0.9:
            return f"+65{rng.choice('689')}{rng.randrange(10**6, 10**7)}"
        if roll < 0.95:
            return f"+601{rng.randint(2, 9)}{rng.randrange(10**6, 10**7)}"
        return f"+1{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randrange(1000, 10000)}"

    # -- accounts --

    def _accounts(self, count, timeline_per_account):
        rng, org_id = self.rng, self.organization.pk
        self.out.write(f"Accounts: {count:,}\n")
        writer = TableWriter(Account, batch=self.batch, out=self.out)
        search = TableWriter(SearchDocument, batch=self.batch, out=self.out,
                             label="search documents (accounts)")
        timeline = TableWriter(TimelineEntry, batch=sys.maxsize, out=self.out,
                               label="timeline lines")
        writer.followers.append(timeline)  # lines point at accounts: write them after
        first = writer.reserve_ids(count) if count else 0
        first_line = timeline.reserve_ids(count * timeline_per_account) if count else 0
        line_ids = itertools.count(first_line)
        account_ids, names, domains = [], [], []
        sizes = ("micro", "small", "small", "medium", "medium", "large", "enterprise")
        tiers = ("standard",) * 6 + ("key", "key", "strategic", "long_tail")
        statuses = ("customer",) * 5 + ("prospect",) * 4 + ("former",)
        for index in range(count):
            pk = first + index
            name, domain = self._company(index)
            created = self._when()
            city = rng.choice(CITIES)
            row = {
                "id": pk, "organization_id": org_id, "name": name,
                "industry": rng.choice(INDUSTRIES), "size": rng.choice(sizes),
                "tier": rng.choice(tiers), "status": rng.choice(statuses),
                "owner_id": rng.choice(self.members),
                "tax_id": f"{rng.randrange(10**14, 10**15)}" if rng.random() < 0.7 else "",
                "billing_address": f"{rng.choice(STREETS)} No. {rng.randint(1, 250)}, {city}",
                "shipping_address": "",
                "website": f"https://www.{domain}" if rng.random() < 0.6 else "",
                "phone": f"+6221{rng.randrange(10**7, 10**8)}" if rng.random() < 0.8 else "",
                "custom": ({"segment": rng.choice(ACCOUNT_CUSTOM["segment"])}
                           if rng.random() < 0.6 else {}),
                "created_at": created,
                "updated_at": created + timedelta(days=rng.randrange(0, 200)),
                "version": 1,
            }
            writer.add(row)
            search.add(_search_row(search_index.document_for_account(Account(**row))))
            for step in range(timeline_per_account):
                line_id = next(line_ids)
                if step == 0:
                    event_type, category, summary, when = (
                        "crm.account.created", "record", name[:120], created)
                    data = {"account_id": pk, "contact_id": None, "title": name[:120],
                            "changed": ["name", "owner", "status"]}
                else:
                    kind = rng.choice(KINDS)
                    summary = rng.choice(SUBJECTS[kind])
                    event_type, category = "crm.activity.completed", "activity"
                    when = created + (self.now - created) * rng.random()
                    data = {"account_id": pk, "contact_id": None, "title": summary,
                            "kind": kind}
                timeline.add({
                    "id": line_id, "organization_id": org_id, "account_id": pk,
                    "contact_id": None, "event_id": -line_id, "event_type": event_type,
                    "category": category, "summary": summary,
                    "actor_id": rng.choice(self.members), "data": data,
                    "occurred_at": min(when, self.now),
                })
            account_ids.append(pk)
            names.append(name)
            domains.append(domain)
        for table in (writer, search):
            table.flush()
        return account_ids, names, domains

    # -- contacts --

    def _contacts(self, count, account_ids, account_names, domains):
        rng, org_id = self.rng, self.organization.pk
        self.out.write(f"Contacts: {count:,}\n")
        writer = TableWriter(Contact, batch=self.batch, out=self.out)
        search = TableWriter(SearchDocument, batch=self.batch, out=self.out,
                             label="search documents (contacts)")
        first = writer.reserve_ids(count) if count else 0
        contact_accounts = []  # index -> account id (or None)
        for index in range(count):
            pk = first + index
            if rng.random() < 0.8:
                first_name, last_name = rng.choice(ID_FIRST), rng.choice(ID_LAST)
                if rng.random() < 0.1:  # many Indonesians go by one name
                    first_name = ""
            else:
                first_name, last_name = rng.choice(INTL_FIRST), rng.choice(INTL_LAST)
            slot = rng.randrange(len(account_ids)) if rng.random() < 0.92 else None
            account_id = account_ids[slot] if slot is not None else None
            domain = domains[slot] if slot is not None else rng.choice(
                ("gmail.com", "yahoo.co.id", "outlook.com"))
            local = ".".join(part.lower() for part in (first_name, last_name) if part)
            local = "".join(ch for ch in local if ch.isalnum() or ch == ".")
            created = self._when()
            email_opt_in = rng.random() < 0.4
            row = {
                "id": pk, "organization_id": org_id, "first_name": first_name,
                "last_name": last_name, "job_title": rng.choice(JOB_TITLES),
                "email": f"{local}{index % 997 or ''}@{domain}" if rng.random() < 0.9 else "",
                "extra_emails": [], "phone": self._mobile() if rng.random() < 0.85 else "",
                "extra_phones": [self._mobile()] if rng.random() < 0.1 else [],
                "account_id": account_id, "relationship_role": rng.choice(ROLES),
                "email_opt_in": email_opt_in,
                "email_opt_in_at": created if email_opt_in else None,
                "phone_opt_in": False, "phone_opt_in_at": None,
                "owner_id": rng.choice(self.members),
                "custom": ({"preferred_language": rng.choice(("id", "id", "en"))}
                           if rng.random() < 0.5 else {}),
                "created_at": created,
                "updated_at": created + timedelta(days=rng.randrange(0, 200)),
                "version": 1,
            }
            writer.add(row)
            account_name = account_names[slot] if slot is not None else ""
            search.add(_search_row(search_index.document_for_contact(
                Contact(**row), account_name=account_name)))
            contact_accounts.append(account_id)
        writer.flush()
        search.flush()
        return contact_accounts

    # -- activities --

    def _activities(self, count, account_ids, contact_accounts, index_activities):
        rng, org_id = self.rng, self.organization.pk
        self.out.write(f"Activities: {count:,}\n")
        writer = TableWriter(Activity, batch=self.batch, out=self.out)
        search = TableWriter(SearchDocument, batch=self.batch, out=self.out,
                             label="search documents (activities)")
        first = writer.reserve_ids(count) if count else 0
        first_contact = (Contact.objects.filter(organization_id=org_id)
                         .order_by("-id").values_list("id", flat=True).first() or 0)
        first_contact -= len(contact_accounts) - 1
        statuses = [status for status, weight in STATUS_WEIGHTS for _ in range(weight)]
        for index in range(count):
            pk = first + index
            kind = rng.choice(KINDS)
            if contact_accounts and rng.random() < 0.85:
                slot = rng.randrange(len(contact_accounts))
                contact_id, account_id = first_contact + slot, contact_accounts[slot]
            else:
                contact_id = None
                account_id = rng.choice(account_ids) if account_ids else None
            created = self._when()
            due = created + timedelta(hours=rng.randrange(-48, 24 * 30))
            status = "done" if kind == "note" else rng.choice(statuses)
            assignee = rng.choice(self.members)
            row = {
                "id": pk, "organization_id": org_id, "kind": kind,
                "subject": rng.choice(SUBJECTS[kind]), "notes": "",
                "status": status, "account_id": account_id, "contact_id": contact_id,
                "assignee_id": assignee, "created_by_id": assignee,
                "due_at": due, "ends_at": due + timedelta(hours=1) if kind == "meeting" else None,
                "all_day": False,
                "direction": rng.choice(("inbound", "outbound")) if kind == "call" else "",
                "duration_seconds": rng.randrange(30, 1800) if kind == "call" else None,
                "outcome": rng.choice(OUTCOMES) if kind == "call" and status == "done" else "",
                "location": "" if kind != "meeting" else rng.choice(CITIES),
                "video_url": "", "ical_uid": "",
                "completed_at": due if status == "done" else None,
                "created_at": created, "updated_at": created, "version": 1,
            }
            writer.add(row)
            if index_activities:
                search.add(_search_row(search_index.document_for_activity(
                    Activity(**{k: v for k, v in row.items()}))))
        writer.flush()
        search.flush()


def main():  # pragma: no cover - convenience for `python -m`
    from django.core.management import call_command

    call_command("crm_generate", *sys.argv[1:])
