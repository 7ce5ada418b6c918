"""Rebuild the CRM search documents of accounts and contacts, in batches.

    jalin crm_reindex [--org SLUG] [--batch 2000]

Re-creates the database search objects first (the SQLite FTS5 table and its triggers, which
a later migration that rebuilds crm_searchdocument would drop; the PostgreSQL functions and
indexes), then rewrites each live account's and contact's row and removes rows of archived or
missing records. Activities and documents are indexed by their own services.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from jalin.crm.models import Account, Contact, SearchDocument
from jalin.crm.search import backends
from jalin.crm.search import index as search_index
from jalin.tenancy.models import Organization


class Command(BaseCommand):
    help = "Rebuild CRM search documents (accounts and contacts) in batches."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="slug of one organization (default: all)")
        parser.add_argument("--batch", type=int, default=2000)

    def handle(self, *args, **options):
        batch = max(100, min(options["batch"], 20000))
        organizations = Organization.objects.order_by("pk")
        if options["org"]:
            organizations = organizations.filter(slug=options["org"])
            if not organizations.exists():
                raise CommandError(f"No organization with slug {options['org']!r}.")
        backends.install(connection, rebuild=False)
        for organization in organizations.iterator():
            accounts = self._accounts(organization, batch)
            contacts = self._contacts(organization, batch)
            if accounts or contacts:
                self.stdout.write(f"{organization.slug}: {accounts} accounts, "
                                  f"{contacts} contacts")
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(backends.SQLITE_REBUILD)
        self.stdout.write(self.style.SUCCESS("Search documents rebuilt."))

    def _write(self, organization, kind, documents):
        with transaction.atomic():
            SearchDocument.objects.filter(
                organization=organization, kind=kind,
                object_id__in=[d.object_id for d in documents]).delete()
            SearchDocument.objects.bulk_create(documents, batch_size=500)

    def _prune(self, organization, kind, live):
        SearchDocument.objects.filter(organization=organization, kind=kind).exclude(
            object_id__in=live.values("pk")).delete()

    def _accounts(self, organization, batch):
        live = Account.objects.filter(organization=organization, archived_at__isnull=True)
        total, last = 0, 0
        while True:
            rows = list(live.filter(pk__gt=last).order_by("pk")[:batch])
            if not rows:
                break
            self._write(organization, search_index.ACCOUNT,
                        [search_index.document_for_account(a) for a in rows])
            total, last = total + len(rows), rows[-1].pk
        self._prune(organization, search_index.ACCOUNT, live)
        return total

    def _contacts(self, organization, batch):
        live = Contact.objects.filter(organization=organization, archived_at__isnull=True)
        total, last = 0, 0
        while True:
            rows = list(live.filter(pk__gt=last).select_related("account")
                        .order_by("pk")[:batch])
            if not rows:
                break
            self._write(organization, search_index.CONTACT, [
                search_index.document_for_contact(
                    c, account_name=c.account.name if c.account_id else "") for c in rows])
            total, last = total + len(rows), rows[-1].pk
        self._prune(organization, search_index.CONTACT, live)
        return total
