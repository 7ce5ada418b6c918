"""B2B hub benchmark: the buyer's catalog page and order placement through the API, against
the real app under gunicorn, real HTTP over keep-alive connections, on 127.0.0.1 only.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jalin_hub_bench \\
        .venv/bin/python bench/hub_bench.py --supplier grosir [--tokens bench/hub_tokens.json]
        [--requests 200] [--concurrency 1,4,16,32] [--duration 15] [--json results.json]

Build the data first with bench/setup_hub_pg.sh (see docs/performance.md, "Hub").

(a) Catalog: signs in as the first generated buyer (`<supplier>-buyer-1`, a customer price
    list over ~60% of the products) through the sign-in form, warms up, then sends
    `--requests` sequential requests per scenario — first page, a SKU/name search, a
    category filter, a deep keyset page (reached by following "next" `--deep-pages` times),
    and a search that matches nothing — and prints p50/p95/p99/max in ms with PASS/MISS against
    p95 < 100 ms.
(b) Orders: for each concurrency level K, K client threads (each a different buyer with its own
    API token and keep-alive connection) post 5-line orders (`POST /api/v1/hub/orders`, a fresh
    Idempotency-Key each, products from that buyer's customer list, quantities ≥ the minimum
    order) for `--duration` seconds or `--max-orders`, whichever comes first. Reports orders/s,
    latency percentiles, and the answers by status; then checks in the database that exactly
    one order exists per 201 and that a replayed key answers the same order. Exit status 1 if
    any request got a 5xx.

The load average (1 min) is printed next to every figure: on a shared 2-core machine it says
how much the numbers are worth.
"""

import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crm_bench import Client, free_port, percentile, sign_in, start_server  # noqa: E402

CATALOG_TARGET_MS = 100
SEARCH_TERMS = ("Kabel", "Lampu LED", "Semen", "LIS1-", "Kertas HVS", "Oli", "Sapu",
                "Beras", "Pipa PVC", "Tinta", "Cat Tembok", "BGN3-0", "Sarung", "Air Mineral",
                "Obeng", "Lakban")
RARE_TERMS = ("Zebra", "Qwerty", "XYZ-1", "Yoghurt", "Zinc", "Wortel")


def load_average():
    return os.getloadavg()[0]


def process_cpu_seconds(pid):
    """User + system CPU seconds of a process and its children that are still running."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            pids += [int(child) for child in children]
    except OSError:
        pass
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


class DatabaseCpu:
    """CPU seconds spent by the PostgreSQL backends serving the benchmark database (other
    databases on the same server, e.g. other people's test runs, are left out). Backends are
    found in pg_stat_activity; their CPU is read from /proc (same machine)."""

    def __init__(self):
        from django.db import connection

        self.connection = connection
        self.database = connection.settings_dict["NAME"]
        self.seen = {}

    def _backends(self):
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
                           "pg_backend_pid()", [self.database])
            return [row[0] for row in cursor.fetchall()]

    def snapshot(self):
        ticks = os.sysconf("SC_CLK_TCK")
        values = {}
        for pid in self._backends():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                values[pid] = (int(fields[11]) + int(fields[12])) / ticks
            except (OSError, IndexError, ValueError):
                pass
        return values

    @staticmethod
    def spent(before, after):
        """CPU seconds between two snapshots (backends that started meanwhile count whole;
        backends that ended meanwhile are lost, so this is a lower bound)."""
        return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def sample_data(supplier_slug, tokens_file, per_buyer=400):
    """What the requests are spread over, read straight from the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from jalin.hub.models import Category, Order, Product, TradingRelationship
    from jalin.tenancy.models import Organization

    supplier = Organization.objects.get(slug=supplier_slug)
    tokens = json.loads(Path(tokens_file).read_text())["buyers"]
    rng = random.Random(11)
    buyers = []
    for entry in tokens:
        relationship = TradingRelationship.objects.select_related("price_list").get(
            pk=entry["relationship_id"])
        ids = list(relationship.price_list.items.filter(min_quantity=1)
                   .values_list("product_id", flat=True))
        picks = rng.sample(ids, min(per_buyer, len(ids)))
        moq = dict(Product.objects.filter(pk__in=picks, is_active=True)
                   .values_list("pk", "min_order_quantity"))
        buyers.append({**entry, "products": list(moq.items())})
    categories = list(Category.objects.filter(supplier=supplier, parent__isnull=False)
                      .values_list("pk", flat=True))
    total = Product.objects.filter(supplier=supplier, is_active=True).count()
    orders_before = Order.objects.filter(supplier=supplier).count()
    return supplier.pk, buyers, categories, total, orders_before


def summarize(name, timings, *, failures=0, extra=None):
    timings = sorted(timings)
    row = {"scenario": name, "requests": len(timings), "failures": failures,
           "p50": percentile(timings, 0.50), "p95": percentile(timings, 0.95),
           "p99": percentile(timings, 0.99), "max": timings[-1] if timings else float("nan"),
           "mean": statistics.fmean(timings) if timings else float("nan")}
    row.update(extra or {})
    return row


def measure(name, make_request, *, requests, warmup, server_pid):
    for index in range(warmup):
        make_request(index)
    load_before, cpu_before = load_average(), process_cpu_seconds(server_pid)
    pg_before = DB_CPU.snapshot()
    timings, failures = [], 0
    for index in range(requests):
        started = time.perf_counter()
        ok = make_request(index)
        timings.append((time.perf_counter() - started) * 1000)
        failures += 0 if ok else 1
    return summarize(name, timings, failures=failures, extra={
        "load_1m": round((load_before + load_average()) / 2, 2),
        "app_cpu_ms_per_request": round(
            (process_cpu_seconds(server_pid) - cpu_before) * 1000 / max(requests, 1), 2),
        "db_cpu_ms_per_request": round(
            DB_CPU.spent(pg_before, DB_CPU.snapshot()) * 1000 / max(requests, 1), 2)})


def run_catalog(port, supplier_id, buyer, categories, args, server_pid):
    client = Client(port)
    sign_in(client, buyer["username"], args.password)
    base = f"/hub/shop/{supplier_id}/"

    def get(path):
        status, _, _ = client.request("GET", path)
        return status == 200

    status, body, _ = client.request("GET", base)
    if status != 200 or body.count(b'class="price"') < 1:
        raise SystemExit(f"the catalog page answered {status} without prices")
    # A deep page: follow the "next" link `--deep-pages` times (whatever the page's cursor
    # looks like), then time that page.
    deep = base
    for _ in range(args.deep_pages):
        status, body, _ = client.request("GET", deep)
        match = re.search(rb'href="([^"]*)" rel="next"', body)
        if status != 200 or not match:
            break
        deep = base + match.group(1).decode().replace("&amp;", "&")
    results = []
    scenarios = [
        ("catalog, first page", lambda i: get(base)),
        ("catalog, search (SKU or name)", lambda i: get(
            base + "?" + urlencode({"q": SEARCH_TERMS[i % len(SEARCH_TERMS)]}))),
        ("catalog, category filter", lambda i: get(
            base + "?" + urlencode({"category": categories[i % len(categories)]}))),
        (f"catalog, deep page ({args.deep_pages} x next)", lambda i: get(deep)),
        ("catalog, search (no match)", lambda i: get(
            base + "?" + urlencode({"q": RARE_TERMS[i % len(RARE_TERMS)]}))),
    ]
    for name, make_request in scenarios:
        row = measure(name, make_request, requests=args.requests, warmup=args.warmup,
                      server_pid=server_pid)
        row["target_ms"] = CATALOG_TARGET_MS
        results.append(row)
    return results


class OrderClient(threading.Thread):
    def __init__(self, port, supplier_id, buyer, *, deadline, budget, lines, seed, barrier):
        super().__init__(daemon=True)
        self.client = Client(port)
        self.supplier_id = supplier_id
        self.buyer = buyer
        self.deadline = deadline
        self.budget = budget  # shared counter: [remaining]
        self.lines = lines
        self.rng = random.Random(seed)
        self.barrier = barrier
        self.timings, self.statuses, self.first_keys = [], Counter(), []
        self.headers = {"Authorization": f"Bearer {buyer['token']}",
                        "Content-Type": "application/json"}

    def body(self):
        picks = self.rng.sample(self.buyer["products"], self.lines)
        return json.dumps({"supplier_id": self.supplier_id, "buyer_reference": "bench",
                           "lines": [{"product_id": pid, "quantity": moq * self.rng.randint(1, 3)}
                                     for pid, moq in picks]})

    def place(self, body, key):
        started = time.perf_counter()
        try:
            status, data, response = self.client.request(
                "POST", "/api/v1/hub/orders", body=body,
                headers={**self.headers, "Idempotency-Key": key})
        except (OSError, http.client.HTTPException):
            status, data, response = 599, b"", None  # connection error: counted as failure
        return (time.perf_counter() - started) * 1000, status, data, response

    def run(self):
        self.barrier.wait(60)
        while time.monotonic() < self.deadline[0]:
            with BUDGET_LOCK:
                if self.budget[0] <= 0:
                    break
                self.budget[0] -= 1
            body, key = self.body(), str(uuid.uuid4())
            elapsed, status, data, _ = self.place(body, key)
            self.timings.append(elapsed)
            self.statuses[status] += 1
            if status == 201 and len(self.first_keys) < 1:
                self.first_keys.append((body, key, json.loads(data)["id"]))
            elif status not in (200, 201) and self.statuses[status] <= 3:
                print(f"  {self.buyer['username']}: {status} {data[:300]!r}", file=sys.stderr)


BUDGET_LOCK = threading.Lock()
DB_CPU = None  # DatabaseCpu, set up in main()


def run_orders(port, supplier_id, buyers, args, server_pid):
    results = []
    warm = OrderClient(port, supplier_id, buyers[0], deadline=[time.monotonic() + 60],
                       budget=[args.warmup_orders], lines=args.lines, seed=1,
                       barrier=threading.Barrier(1))
    warm.run()
    replay_checked = False
    for level in args.concurrency:
        clients_buyers = [buyers[i % len(buyers)] for i in range(level)]
        if level > len(buyers):
            print(f"  note: {level} clients share {len(buyers)} buyers' tokens",
                  file=sys.stderr)
        barrier = threading.Barrier(level + 1)
        deadline, budget = [0.0], [args.max_orders]
        clients = [OrderClient(port, supplier_id, buyer, deadline=deadline, budget=budget,
                               lines=args.lines, seed=1000 * level + i, barrier=barrier)
                   for i, buyer in enumerate(clients_buyers)]
        for client in clients:
            client.start()
        load_before, cpu_before = load_average(), process_cpu_seconds(server_pid)
        pg_before = DB_CPU.snapshot()
        deadline[0] = time.monotonic() + args.duration
        barrier.wait(60)
        started = time.perf_counter()
        for client in clients:
            client.join(args.duration + 120)
        wall = time.perf_counter() - started
        timings = [t for client in clients for t in client.timings]
        statuses = sum((client.statuses for client in clients), Counter())
        created = statuses.get(201, 0)
        row = summarize(f"orders, {level} concurrent buyers", timings,
                        failures=sum(n for s, n in statuses.items() if s != 201), extra={
                            "concurrency": level, "orders": created,
                            "orders_per_s": round(created / wall, 1) if wall else 0.0,
                            "wall_s": round(wall, 1),
                            "statuses": {str(k): v for k, v in sorted(statuses.items())},
                            "load_1m": round((load_before + load_average()) / 2, 2),
                            "app_cpu_ms_per_order": round(
                                (process_cpu_seconds(server_pid) - cpu_before) * 1000
                                / max(len(timings), 1), 2),
                            "db_cpu_ms_per_order": round(
                                DB_CPU.spent(pg_before, DB_CPU.snapshot()) * 1000
                                / max(len(timings), 1), 2)})
        results.append(row)
        if not replay_checked:
            first = next((c for c in clients if c.first_keys), None)
            if first is not None:
                body, key, order_id = first.first_keys[0]
                _, status, data, response = first.place(body, key)
                replayed = response is not None and response.headers.get(
                    "Idempotent-Replayed") == "true"
                if status != 201 or json.loads(data)["id"] != order_id or not replayed:
                    print(f"  REPLAY CHECK FAILED: {status} {data[:200]!r}", file=sys.stderr)
                    row["replay_check"] = "failed"
                else:
                    row["replay_check"] = "ok"
                replay_checked = True
    return results, warm.statuses.get(201, 0)


def count_orders(supplier_id):
    from jalin.hub.models import Order

    return Order.objects.filter(supplier_id=supplier_id).count()


def print_tables(catalog, orders):
    if catalog:
        print()
        print(f"{'catalog scenario':30} {'n':>5} {'fail':>4} {'p50':>7} {'p95':>7} {'p99':>7} "
              f"{'max':>7} {'app':>6} {'db':>6} {'load':>5}  target")
        for row in catalog:
            passed = row["p95"] < row["target_ms"] and not row["failures"]
            row["verdict"] = f"p95 < {row['target_ms']} ms {'PASS' if passed else 'MISS'}"
            print(f"{row['scenario']:30} {row['requests']:>5} {row['failures']:>4} "
                  f"{row['p50']:>7.1f} {row['p95']:>7.1f} {row['p99']:>7.1f} "
                  f"{row['max']:>7.1f} {row['app_cpu_ms_per_request']:>6.1f} "
                  f"{row['db_cpu_ms_per_request']:>6.1f} {row['load_1m']:>5.1f}  "
                  f"{row['verdict']}")
        print("(ms; sequential keep-alive requests; app/db = CPU ms per request of gunicorn "
              "and of PostgreSQL; load = 1-min load average)")
    if orders:
        print()
        print(f"{'K':>3} {'orders':>7} {'orders/s':>8} {'p50':>7} {'p95':>7} {'p99':>7} "
              f"{'max':>7} {'app':>6} {'db':>6} {'load':>5}  answers")
        for row in orders:
            print(f"{row['concurrency']:>3} {row['orders']:>7} {row['orders_per_s']:>8.1f} "
                  f"{row['p50']:>7.1f} {row['p95']:>7.1f} {row['p99']:>7.1f} "
                  f"{row['max']:>7.1f} {row['app_cpu_ms_per_order']:>6.1f} "
                  f"{row['db_cpu_ms_per_order']:>6.1f} {row['load_1m']:>5.1f}  "
                  f"{' '.join(f'{k}×{v}' for k, v in row['statuses'].items())}")
        print("(K concurrent buyers, 5-line orders through POST /api/v1/hub/orders; ms; "
              "app/db = CPU ms per order)")


def main():
    parser = argparse.ArgumentParser(description="B2B hub benchmark")
    parser.add_argument("--supplier", default="grosir")
    parser.add_argument("--tokens", default=str(ROOT / "bench" / "hub_tokens.json"))
    parser.add_argument("--password", default="bench-password-1")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--deep-pages", type=int, default=20,
                        help="catalog pages to follow before timing the deep page")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", default="1,4,16,32",
                        help="comma-separated numbers of concurrent buyers")
    parser.add_argument("--duration", type=float, default=15.0,
                        help="seconds per concurrency level (at most 300)")
    parser.add_argument("--max-orders", type=int, default=3000,
                        help="at most this many orders per concurrency level")
    parser.add_argument("--warmup-orders", type=int, default=10)
    parser.add_argument("--lines", type=int, default=5)
    parser.add_argument("--skip-catalog", action="store_true")
    parser.add_argument("--skip-orders", action="store_true")
    parser.add_argument("--json", help="also write the results to this file ('-': stdout)")
    args = parser.parse_args()
    args.concurrency = [int(n) for n in re.split(r"[ ,]+", args.concurrency.strip()) if n]
    if not args.concurrency or min(args.concurrency) < 1 or max(args.concurrency) > 64:
        raise SystemExit("--concurrency: numbers between 1 and 64")
    args.duration = min(max(args.duration, 1.0), 300.0)
    args.max_orders = min(max(args.max_orders, 1), 100_000)
    if "DATABASE_URL" not in os.environ:
        print("warning: DATABASE_URL is not set; benchmarking the SQLite database",
              file=sys.stderr)
    supplier_id, buyers, categories, products, orders_before = sample_data(
        args.supplier, args.tokens)
    global DB_CPU
    DB_CPU = DatabaseCpu()
    if any(len(b["products"]) < args.lines for b in buyers):
        raise SystemExit("a buyer's customer list has too few products for --lines")
    machine = {"cores": os.cpu_count(), "load_at_start": [round(x, 2) for x in os.getloadavg()],
               "products": products, "buyers": len(buyers), "orders_before": orders_before}
    print(f"supplier {args.supplier} (id {supplier_id}): {products:,} active products, "
          f"{len(buyers)} buyers, {orders_before:,} orders; {machine['cores']} cores, load "
          f"average {machine['load_at_start']}", flush=True)
    port = free_port()
    server = start_server(port, args.workers)
    catalog, order_rows, warm_orders = [], [], 0
    try:
        if not args.skip_catalog:
            catalog = run_catalog(port, supplier_id, buyers[0], categories, args, server.pid)
        if not args.skip_orders:
            order_rows, warm_orders = run_orders(port, supplier_id, buyers, args, server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    five_xx = 0
    if order_rows:
        expected = orders_before + warm_orders + sum(row["orders"] for row in order_rows)
        actual = count_orders(supplier_id)
        machine["orders_after"] = actual
        machine["orders_check"] = "ok" if actual == expected else (
            f"MISMATCH: {actual} orders, expected {expected}")
        five_xx = sum(n for row in order_rows for s, n in row["statuses"].items()
                      if s.startswith("5"))
    machine["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print_tables(catalog, order_rows)
    if order_rows:
        print(f"orders in the database: {machine['orders_check']}; 5xx answers: {five_xx}")
    print(f"load average at end: {machine['load_at_end']}")
    if args.json:
        data = json.dumps({"machine": machine, "catalog": catalog, "orders": order_rows},
                          indent=2)
        if args.json == "-":
            print(data)
        else:
            Path(args.json).write_text(data)
    if five_xx or machine.get("orders_check", "ok") != "ok":
        sys.exit(1)


if __name__ == "__main__":
    main()
