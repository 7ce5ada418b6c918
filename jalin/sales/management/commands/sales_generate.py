"""`jalin sales_generate --org SLUG --opportunities N`: bulk opportunities for benchmarks."""

import time

from django.core.management.base import BaseCommand, CommandError

from jalin.sales.generate import generate_opportunities
from jalin.tenancy.models import Organization


class Command(BaseCommand):
    help = "Generate many opportunities in an organization's default pipeline (benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--opportunities", type=int, default=200_000,
                            help="open opportunities to add")
        parser.add_argument("--closed", type=int, default=0, help="won/lost ones to add")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=10_000)

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['org']!r}.")
        if options["opportunities"] < 0 or options["closed"] < 0:
            raise CommandError("Counts cannot be negative.")
        started = time.monotonic()
        try:
            written = generate_opportunities(
                organization=organization, count=options["opportunities"],
                closed=options["closed"], seed=options["seed"], batch=options["batch"],
                out=self.stdout)
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{written:,} opportunities in {time.monotonic() - started:.1f} s")
