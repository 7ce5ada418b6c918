"""CRM latency benchmark: the real app under gunicorn, real HTTP, keep-alive connections.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jalin_bench \\
        .venv/bin/python bench/crm_bench.py --org bench [--requests 200]

Starts gunicorn (2 workers, gthread) on a free port against DATABASE_URL, signs in as
`<org>-owner` (session cookie for the pages, an API token for the API), warms every scenario
up, then times `--requests` sequential requests per scenario and prints p50/p95/p99/max in
milliseconds with PASS/MISS against the targets. Build the data first with bench/setup_pg.sh;
see docs/performance.md.
"""

import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEARCH_TERMS = ("sant", "wij", "budi", "pt sej", "hart", "makmur", "siti", "nusantara",
                "logistik", "ahmad", "lim", "pacific", "dewi", "kusuma", "+62812", "rahmat")
TARGETS_MS = {  # scenario -> p95 target in ms
    "search typeahead": 50,
    "contact list, first page": 50,
    "contact list, deep page": 50,
    "contact list, middle page": 50,
    "contacts API, middle page": 50,
    "contact list, owner + role": 50,
    "account list, first page": 50,
    "account page + timeline": 100,
    "contact page + timeline": 100,
}


class Client:
    """A keep-alive HTTP/1.1 client that remembers cookies."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method, path, *, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError, TimeoutError):
                if attempt:
                    raise
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                             timeout=60)
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for key, morsel in cookie.items():
                self.cookies[key] = morsel.value
        return response.status, data, response


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port, workers):
    env = dict(os.environ, JALIN_DEBUG="0", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application",
               "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--worker-class", "gthread", "--threads", "2", "--keep-alive", "30",
               "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 (fixed argv)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit("gunicorn exited during start-up") from None
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("gunicorn did not start within 60 s")


def sign_in(client, username, password):
    status, body, _ = client.request("GET", "/accounts/login/")
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if status != 200 or not match:
        raise SystemExit(f"login page answered {status}")
    form = urlencode({"csrfmiddlewaretoken": match.group(1).decode(), "username": username,
                      "password": password})
    status, _, _ = client.request(
        "POST", "/accounts/login/", body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Referer": f"http://127.0.0.1:{client.port}/accounts/login/"})
    if status != 302 or "sessionid" not in client.cookies:
        raise SystemExit(f"signing in as {username} failed ({status})")


def api_token(client, username, password, org):
    body = json.dumps({"username": username, "password": password, "organization": org,
                       "name": "crm bench", "days": 1})
    status, data, _ = client.request("POST", "/api/v1/auth/token", body=body,
                                     headers={"Content-Type": "application/json"})
    if status != 201:
        raise SystemExit(f"could not get an API token ({status}): {data[:200]!r}")
    return json.loads(data)["token"]


def sample_ids(org_slug):
    """Ids to spread the requests over, read straight from the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db.models import Max, Min

    from jalin.crm.models import Account, Contact
    from jalin.tenancy.models import Membership, Organization

    organization = Organization.objects.get(slug=org_slug)
    members = list(Membership.objects.filter(organization=organization, is_active=True)
                   .values_list("user_id", flat=True))
    rng = random.Random(7)
    bounds = Account.objects.filter(organization=organization).aggregate(lo=Min("id"),
                                                                         hi=Max("id"))
    picks = [rng.randint(bounds["lo"], bounds["hi"]) for _ in range(400)]
    accounts = list(Account.objects.filter(organization=organization, pk__in=picks,
                                           archived_at__isnull=True)
                    .values_list("id", flat=True))
    bounds = Contact.objects.filter(organization=organization).aggregate(lo=Min("id"),
                                                                         hi=Max("id"))
    picks = [rng.randint(bounds["lo"], bounds["hi"]) for _ in range(400)]
    contacts = list(Contact.objects.filter(organization=organization, pk__in=picks,
                                           archived_at__isnull=True)
                    .values_list("id", flat=True))
    # A cursor half-way through the contact list (by name): what "page 10 000" costs.
    from jalin.api.pagination import encode_cursor
    from jalin.crm.selectors import CONTACT_SORTS

    order = list(CONTACT_SORTS["name"])
    total = len(contacts) and Contact.objects.filter(organization=organization).order_by(
        "-id").values_list("id", flat=True).first() - bounds["lo"]
    middle = (Contact.objects.filter(organization=organization, archived_at__isnull=True)
              .order_by("last_name", "first_name", "id")
              .values_list("last_name", "first_name", "id")[total // 2:total // 2 + 1])
    middle_cursor = encode_cursor(order, list(middle[0])) if middle else None
    from django.db import connection

    connection.close()
    return members, accounts, contacts, middle_cursor


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def measure(name, make_request, *, requests, warmup):
    for index in range(warmup):
        make_request(index)
    timings, failures = [], 0
    for index in range(requests):
        started = time.perf_counter()
        ok = make_request(index)
        timings.append((time.perf_counter() - started) * 1000)
        failures += 0 if ok else 1
    timings.sort()
    return {"scenario": name, "requests": requests, "failures": failures,
            "p50": percentile(timings, 0.50), "p95": percentile(timings, 0.95),
            "p99": percentile(timings, 0.99), "max": timings[-1] if timings else float("nan"),
            "mean": statistics.fmean(timings) if timings else float("nan")}


def main():
    parser = argparse.ArgumentParser(description="CRM latency benchmark")
    parser.add_argument("--org", required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--username", default=None, help="default: <org>-owner")
    parser.add_argument("--password", default="bench-password-1")
    parser.add_argument("--deep-pages", type=int, default=50)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        print("warning: DATABASE_URL is not set; benchmarking the SQLite database",
              file=sys.stderr)
    username = args.username or f"{args.org}-owner"
    members, accounts, contacts, middle_cursor = sample_ids(args.org)
    if not accounts or not contacts:
        raise SystemExit("The organization has no accounts/contacts; run bench/setup_pg.sh")
    port = free_port()
    server = start_server(port, args.workers)
    results = []
    try:
        client = Client(port)
        sign_in(client, username, args.password)
        token = api_token(Client(port), username, args.password, args.org)
        api = Client(port)
        api_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def get(path, client=client, headers=None):
            status, _, _ = client.request("GET", path, headers=headers)
            return status == 200

        # Search: the typeahead page if it exists, else the search API.
        status, _, _ = client.request("GET", "/crm/search/suggest?q=sant")
        if status == 200:
            search_name = "search typeahead"

            def search(index):
                return get("/crm/search/suggest?" + urlencode(
                    {"q": SEARCH_TERMS[index % len(SEARCH_TERMS)]}))
        else:
            print(f"/crm/search/suggest answered {status}: skipped; using /api/v1/crm/search")
            search_name = "search API"
            TARGETS_MS["search API"] = TARGETS_MS["search typeahead"]

            def search(index):
                return get("/api/v1/crm/search?" + urlencode(
                    {"q": SEARCH_TERMS[index % len(SEARCH_TERMS)]}), client=api,
                    headers=api_headers)
        if get("/api/v1/crm/search?q=sant", client=api, headers=api_headers) or \
                search_name == "search typeahead":
            results.append(measure(search_name, search, requests=args.requests,
                                   warmup=args.warmup))
        else:
            print("search: no search endpoint answered 200; skipped")

        results.append(measure("contact list, first page",
                               lambda i: get("/crm/contacts/"),
                               requests=args.requests, warmup=args.warmup))

        # Follow "next" deep into the list, then time that far page.
        path = "/crm/contacts/"
        for _ in range(args.deep_pages):
            status, body, _ = client.request("GET", path)
            match = re.search(rb'href="([^"]*)" rel="next"', body)
            if status != 200 or not match:
                break
            path = "/crm/contacts/" + match.group(1).decode().replace("&amp;", "&")
        deep_path = path
        results.append(measure("contact list, deep page",
                               lambda i: get(deep_path),
                               requests=args.requests, warmup=args.warmup))

        if middle_cursor:
            middle = urlencode({"after": middle_cursor})
            results.append(measure("contact list, middle page",
                                   lambda i: get(f"/crm/contacts/?{middle}"),
                                   requests=args.requests, warmup=args.warmup))
            middle_api = urlencode({"cursor": middle_cursor})
            results.append(measure(
                "contacts API, middle page",
                lambda i: get(f"/api/v1/crm/contacts?{middle_api}", client=api,
                              headers=api_headers),
                requests=max(args.requests // 10, 5), warmup=2))

        roles = ("decision_maker", "influencer", "user", "billing", "technical")
        results.append(measure(
            "contact list, owner + role",
            lambda i: get("/crm/contacts/?" + urlencode(
                {"owner": members[i % len(members)], "role": roles[i % len(roles)]})),
            requests=args.requests, warmup=args.warmup))
        results.append(measure("account list, first page",
                               lambda i: get("/crm/accounts/"),
                               requests=args.requests, warmup=args.warmup))
        results.append(measure(
            "account page + timeline",
            lambda i: get(f"/crm/accounts/{accounts[i % len(accounts)]}/"),
            requests=args.requests, warmup=args.warmup))
        results.append(measure(
            "contact page + timeline",
            lambda i: get(f"/crm/contacts/{contacts[i % len(contacts)]}/"),
            requests=args.requests, warmup=args.warmup))
        results.append(measure(
            "account timeline API",
            lambda i: get(f"/api/v1/crm/accounts/{accounts[i % len(accounts)]}/timeline",
                          client=api, headers=api_headers),
            requests=args.requests, warmup=args.warmup))

        run = random.randrange(10**6)

        def create(index):
            body = json.dumps({
                "first_name": "Bench", "last_name": f"Kontak {run}-{index}",
                "email": f"bench.{run}.{index}@example.com",
                "phone": f"+62812{run % 10000:04d}{index % 10000:04d}",
                "account_id": accounts[index % len(accounts)],
                "relationship_role": "user"})
            status, _, _ = api.request("POST", "/api/v1/crm/contacts", body=body,
                                       headers=api_headers)
            return status == 201

        results.append(measure("contact create (API POST)", create,
                               requests=args.requests, warmup=args.warmup))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

    print()
    print(f"{'scenario':32} {'n':>5} {'fail':>4} {'p50':>8} {'p95':>8} {'p99':>8} "
          f"{'max':>8}  target")
    for row in results:
        target = TARGETS_MS.get(row["scenario"])
        passed = target is not None and row["p95"] < target and not row["failures"]
        verdict = "—" if target is None else f"p95 < {target} ms {'PASS' if passed else 'MISS'}"
        row["target_ms"], row["verdict"] = target, verdict
        print(f"{row['scenario']:32} {row['requests']:>5} {row['failures']:>4} "
              f"{row['p50']:>8.1f} {row['p95']:>8.1f} {row['p99']:>8.1f} {row['max']:>8.1f}  "
              f"{verdict}")
    print("(milliseconds, sequential keep-alive requests)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
