"""`jalin hub_sales_rollup [--supplier SLUG ...]`: recount the monthly product sales rollup.

Run it after loading orders by other means than the hub's services (imports written straight
into the tables), after changing TIME_ZONE (months are local), or to check the rollup. One
transaction per supplier and month (see jalin.hub.sales_rollup); safe while orders are
placed, which wait for the month being recounted.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from jalin.hub import sales_rollup
from jalin.tenancy.models import Organization


class Command(BaseCommand):
    help = "Recount the monthly product sales rollup (ProductSalesMonth) from the order lines."

    def add_arguments(self, parser):
        parser.add_argument("--supplier", action="append", default=[],
                            help="slug of a supplier (repeatable); all suppliers by default")

    def handle(self, *args, supplier, **options):
        supplier_ids = None
        if supplier:
            found = dict(Organization.objects.filter(slug__in=supplier)
                         .values_list("slug", "pk"))
            missing = sorted(set(supplier) - set(found))
            if missing:
                raise CommandError(f"No such organization: {', '.join(missing)}")
            supplier_ids = [found[slug] for slug in supplier]
        started = time.monotonic()
        rows = sales_rollup.rebuild(supplier_ids=supplier_ids,
                                    out=lambda line: self.stdout.write(f"  {line}"))
        self.stdout.write(self.style.SUCCESS(
            f"Monthly product rollup: {rows:,} rows in {time.monotonic() - started:,.1f} s."))
