"""Forecast benchmark: times the forecast selectors and pages for an organization that already
has many opportunities (the pipeline helper's `sales_generate` loads 200,000 open ones) and,
if it has any, hub order history.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jalin_bench \\
        .venv/bin/python bench/sales_forecast_bench.py --org bench [--repeats 20]

or from other benchmark code: `bench_forecast(organization)` returns {scenario: timings}
and prints p50/p95/max in milliseconds with PASS/MISS against the targets. Pages are requested
in-process through Django's test client, signed in as an org admin of the organization (the
full middleware stack, no network). Each scenario is warmed up once first; the statistical
forecasts are timed cold (cache cleared: fitting and backtesting) and warm (cached).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS_MS = {  # scenario -> p95 target in ms
    "pipeline forecast, 4 quarters": 300,
    "pipeline forecast, 12 months": 300,
    "pipeline forecast by owner": 400,
    "pipeline forecast by team": 400,
    "pipeline forecast by product": 800,
    "attainment of 50 targets": 300,
    "forecast page (quarters + targets)": 600,
    "forecast page by owner": 700,
    "revenue forecast page (warm)": 300,
    "demand page (warm)": 500,
    "demand history, rollup (after)": 100,
    "revenue forecast (cold: fit + backtest)": 5000,
}


def _time(function, repeats):
    function()  # warm-up
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def _report(name, timings):
    ordered = sorted(timings)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    target = TARGETS_MS.get(name)
    verdict = "" if target is None else ("PASS" if p95 <= target else "MISS")
    print(f"{name:45s} p50 {p50:8.1f}  p95 {p95:8.1f}  max {ordered[-1]:8.1f} ms"
          f"  {f'(target {target})' if target else ''} {verdict}")


def _lines_top(organization, start, end, limit=20):
    """The demand page's top products as history_selectors summed them from the order lines
    before the monthly rollup (hub.0017)."""
    from django.db.models import Sum

    from jalin.hub.history_selectors import counted_orders
    from jalin.hub.models import OrderLine

    rows = (OrderLine.objects.filter(order__in=counted_orders(supplier=organization,
                                                              start=start, end=end))
            .order_by().values("product_id").annotate(units=Sum("quantity"))
            .order_by("-units", "product_id")[:limit])
    return [(row["product_id"], row["units"]) for row in rows]


def _lines_monthly(organization, start, end, product_ids):
    from django.db.models import DateField, Sum
    from django.db.models.functions import TruncMonth

    from jalin.hub.history_selectors import counted_orders
    from jalin.hub.models import OrderLine

    return list(OrderLine.objects.filter(order__in=counted_orders(
        supplier=organization, start=start, end=end), product_id__in=product_ids)
        .order_by().annotate(month=TruncMonth("order__submitted_at", output_field=DateField()))
        .values("product_id", "month").annotate(units=Sum("quantity")))


def bench_forecast(organization, *, repeats=20, out=print):
    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse

    from jalin.hub import history_selectors
    from jalin.hub.models import Order
    from jalin.sales import forecast_selectors as fs
    from jalin.sales.models import Opportunity
    from jalin.tenancy.middleware import SESSION_KEY
    from jalin.tenancy.models import Membership
    from jalin.tenancy.roles import Role

    open_deals = Opportunity.objects.filter(organization=organization, status="open").count()
    out(f"Forecast benchmark for {organization.slug}: {open_deals:,} open opportunities")
    membership = (Membership.objects.filter(organization=organization, role=Role.ORG_ADMIN,
                                            is_active=True).select_related("user").first())
    client = Client()
    if membership is not None:
        client.force_login(membership.user)
        session = client.session
        session[SESSION_KEY] = membership.pk
        session.save()
    targets = list(fs.targets_for(organization=organization)[:50])
    scenarios = {
        "pipeline forecast, 4 quarters": lambda: fs.pipeline_forecast(
            organization=organization, kind="quarter", count=4),
        "pipeline forecast, 12 months": lambda: fs.pipeline_forecast(
            organization=organization, kind="month", count=12),
        "pipeline forecast by owner": lambda: fs.pipeline_forecast(
            organization=organization, kind="quarter", count=4, by="owner"),
        "pipeline forecast by team": lambda: fs.pipeline_forecast(
            organization=organization, kind="quarter", count=4, by="team"),
        "pipeline forecast by product": lambda: fs.pipeline_forecast(
            organization=organization, kind="quarter", count=4, by="product"),
    }
    if targets:
        scenarios[f"attainment of {len(targets)} targets"] = lambda: fs.attainment(
            organization=organization, targets=targets)

    def page(name, **params):
        def get():
            response = client.get(reverse(name), params)
            assert response.status_code == 200, (name, response.status_code)
        return get

    if membership is not None:
        scenarios["forecast page (quarters + targets)"] = page("sales:forecast")
        scenarios["forecast page by owner"] = page("sales:forecast", by="owner")
        scenarios["revenue forecast page (warm)"] = page("sales:forecast_revenue")
        scenarios["demand page (warm)"] = page("sales:forecast_demand")
    if Order.objects.filter(supplier=organization).exists():
        # Demand history at order-line scale (a supplier loaded by `jalin hub_generate`, see
        # bench/setup_hub_pg.sh): the same two reads of the demand page, summed from the
        # order lines as before hub.0017, and read from the monthly rollup.
        # The window ends after the supplier's last order (generated history may end before
        # this month), so both variants read a full year and 48 months of lines.
        from django.db.models import Max

        from jalin.hub.sales_rollup import month_of, next_month

        last = Order.objects.filter(supplier=organization).aggregate(at=Max("submitted_at"))
        end = min(next_month(month_of(last["at"])), fs._history_window(None)[1])
        start, year = fs._add_months(end, -fs.HISTORY_MONTHS), fs._add_months(end, -12)

        def from_lines():
            top = _lines_top(organization, year, end)
            _lines_monthly(organization, start, end, [pid for pid, _units in top])

        def from_rollup():
            top = history_selectors.top_products_by_units(supplier=organization, start=year,
                                                          end=end, limit=20)
            history_selectors.monthly_units(supplier=organization, start=start, end=end,
                                            product_ids=[pid for pid, _u, _n in top])

        scenarios["demand history, order lines (before)"] = from_lines
        scenarios["demand history, rollup (after)"] = from_rollup
    results = {}
    for name, function in scenarios.items():
        results[name] = _time(function, repeats)
        _report(name, results[name])

    def cold():
        cache.clear()
        fs.revenue_forecast(organization=organization)

    results["revenue forecast (cold: fit + backtest)"] = _time(cold, max(3, repeats // 5))
    _report("revenue forecast (cold: fit + backtest)",
            results["revenue forecast (cold: fit + backtest)"])
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--org", required=True, help="slug of the organization")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    from jalin.tenancy.models import Organization

    bench_forecast(Organization.objects.get(slug=args.org), repeats=args.repeats)


if __name__ == "__main__":
    main()
