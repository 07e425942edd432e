"""Create Purchases end to end over HTTP: a real server, real PostgreSQL, signed requests.

    .venv/bin/python bench/create_purchases.py [--sizes 1,10,50,100,500] [--requests 200]

What it does:
1. creates (or reuses) a bench database, migrates it, seeds a store with 1,000 products, a tax
   rate and four promotions (percent off a category, 3 for 2, 2 for a price, a spend threshold);
2. starts gunicorn on loopback (2 sync workers, persistent database connections,
   DEBUG off, INFO logs off) with ``JWO_BENCH_ENDPOINTS=true`` so the signed no-op
   ``POST /v1/_bench/ping`` exists (DRF + SigV4 verification, nothing else);
3. measures, one request at a time on a keep-alive connection, the ping and then Create
   Purchases for each cart size (every request a new trip: validate, price, store, hand off),
   plus replays of a 100-line cart; every answer is checked (200/201);
4. prints p50/p99 per size and the time per line above the ping's p50.

Signing happens before the clock starts, so the figures are the server's (plus loopback).
The machine is shared (2 cores, the client on the same machine): compare sizes with each
other and with the ping of the same run, not with another machine.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_harness import ensure_database, free_port, percentile  # noqa: E402

from jwo_client import wire  # noqa: E402
from jwo_client.sigv4 import Credentials, sign_request  # noqa: E402

KEY_ID, SECRET = "AKIDBENCH", "bench-secret-not-for-production"
STORE_ID = "BENCH-001"
PRODUCTS = 1000


def server_env(database_url: str, broker_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jwo_store.settings.local",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "JWO_BENCH_ENDPOINTS": "true",
        "JWO_INBOUND_KEYS": f"{KEY_ID}:{SECRET}",
        "JWO_CLOCK_SOURCE": "",
    }


def seed(env: dict[str, str]) -> None:
    """Seed through the product's own services, in this process."""
    os.environ.update(env)
    import django

    django.setup()
    from catalog.models import Category, Product, ProductPrice, Promotion, TaxCategory, TaxRate
    from catalog.services.versions import price_version_create_draft, price_version_publish
    from trips.models import Store

    store, _ = Store.objects.get_or_create(
        store_id=STORE_ID, defaults={"name": "Bench store", "currency": "USD"}
    )
    standard, _ = TaxCategory.objects.get_or_create(code="STANDARD", defaults={"name": "Standard"})
    categories = [
        Category.objects.get_or_create(code=f"CAT-{n}", defaults={"name": f"Category {n}"})[0]
        for n in range(10)
    ]
    existing = set(Product.objects.filter(sku__startswith="BENCH-").values_list("sku", flat=True))
    Product.objects.bulk_create(
        Product(sku=f"BENCH-{n:04d}", name=f"Bench product {n}")
        for n in range(PRODUCTS)
        if f"BENCH-{n:04d}" not in existing
    )
    products = {p.sku: p for p in Product.objects.filter(sku__startswith="BENCH-")}
    draft = price_version_create_draft(
        store=store, actor="system:bench", reason="bench prices", based_on=None
    )
    ProductPrice.objects.filter(version=draft).delete()  # a copy of the last run's prices
    rng = random.Random(7)
    ProductPrice.objects.bulk_create(
        ProductPrice(
            version=draft,
            product=products[f"BENCH-{n:04d}"],
            sale_unit="KG" if n % 10 == 0 else "UNIT",
            unit_price=Decimal(rng.randint(49, 2999)) / 100,
            currency="USD",
            tax_category=standard,
            category=categories[n % 10],
        )
        for n in range(PRODUCTS)
    )
    TaxRate.objects.update_or_create(
        version=draft, tax_category=standard, defaults={"rate_percent": Decimal("8.25")}
    )
    Promotion.objects.filter(version=draft).delete()
    Promotion.objects.bulk_create(
        [
            Promotion(
                version=draft, code="CAT1-10", name="10% off CAT-1", kind="PERCENT_OFF",
                target_category=categories[1], percent=Decimal(10), stacking="STACKABLE",
            ),
            Promotion(
                version=draft, code="CAT2-3FOR2", name="3 for 2 CAT-2", kind="BUY_N_PAY_M",
                target_category=categories[2], quantity=3, pay_quantity=2, priority=1,
            ),
            Promotion(
                version=draft, code="CAT3-2FOR5", name="2 for $5 CAT-3", kind="BUNDLE_PRICE",
                target_category=categories[3], quantity=2, bundle_price=Decimal(5), priority=1,
            ),
            Promotion(
                version=draft, code="SPEND50", name="$5 off $50", kind="SPEND_THRESHOLD",
                threshold=Decimal(50), amount=Decimal(5),
            ),
        ]
    )  # fmt: skip
    price_version_publish(version=draft, actor="system:bench")


def _analyze(database_url: str) -> None:
    """Fresh planner statistics: this machine's PostgreSQL runs without autovacuum, and the
    bench database grows with every run."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("ANALYZE")


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "jwo_store.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def cart(size: int, rng: random.Random, end: datetime) -> dict:
    start = end - timedelta(minutes=10)
    items = []
    for index in range(size):
        n = rng.randrange(PRODUCTS)
        if n % 10 == 0:
            quantity = {"value": f"{rng.randint(100, 2500) / 1000:.3f}", "unit": "kg"}
        else:
            quantity = {"value": str(rng.randint(1, 3)), "unit": "unit"}
        items.append(
            {
                "id": f"BENCH-{n:04d}",
                "type": "SKU",
                "quantity": quantity,
                "lineItemId": f"li-{index}",
            }
        )
    stamp = wire.format_timestamp(start)
    return {
        "requestId": str(uuid.uuid4()),
        "idempotentShoppingTripId": str(uuid.uuid4()),
        "storeId": STORE_ID,
        "shoppingTrip": {
            "startTime": stamp,
            "endTime": wire.format_timestamp(end),
            "authEvents": [
                {"id": "ae-1", "timestamp": stamp, "location": "ENTRY", "payloadType": "FINANCIAL"}
            ],
        },
        "cartItems": items,
        "shopperIdentity": {"id": f"bench-shopper-{rng.randrange(200)}"},
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_ms(pids: list[int]) -> float:
    """User + system CPU time of processes, from /proc (robust to other load on the machine)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total * 1000 / CLOCK_TICKS


def server_pids(server: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def database_pids(database_url: str) -> list[int]:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return [row[0] for row in rows]


class CpuMeter:
    """CPU spent by the gunicorn workers and their PostgreSQL backends during a batch."""

    def __init__(self, server: subprocess.Popen, database_url: str):
        self.server, self.database_url = server, database_url

    def __enter__(self):
        self.app_pids = server_pids(self.server)
        self.db_pids = database_pids(self.database_url)
        self.app_start = process_cpu_ms(self.app_pids)
        self.db_start = process_cpu_ms(self.db_pids)
        return self

    def __exit__(self, *exc):
        self.app_ms = process_cpu_ms(self.app_pids) - self.app_start
        self.db_ms = process_cpu_ms(self.db_pids) - self.db_start


def timed_post(client: httpx.Client, base: str, path: str, body: bytes, expect: int) -> float:
    headers = sign_request(
        method="POST",
        url=f"{base}{path}",
        body=body,
        credentials=Credentials(KEY_ID, SECRET),
        region=os.environ.get("JWO_AWS_REGION", "us-east-1"),
    )
    started = time.perf_counter()
    response = client.post(f"{base}{path}", content=body, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != expect:
        raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/jwo_bench_orders"
    )
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--sizes", default="1,10,50,100,500")
    parser.add_argument("--requests", type=int, default=200, help="per size (500 lines: a quarter)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    env = server_env(args.database_url, args.broker_url)
    ensure_database(args.database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    seed(env)
    _analyze(args.database_url)
    port = free_port()
    server = start_server(env, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(42)
    rows = []
    try:
        with httpx.Client(timeout=30) as client:
            time.sleep(1.1)  # trips must end after the version published by seed()
            end = datetime.now(UTC)
            ping = b'{"ping":true}'
            for _ in range(50):
                timed_post(client, base, "/v1/_bench/ping", ping, 200)

            def batch(label, size, count, make_body, path, expect):
                for _ in range(min(10, count)):
                    timed_post(client, base, path, make_body(), expect)  # warm up
                bodies = [make_body() for _ in range(count)]
                with CpuMeter(server, args.database_url) as cpu:
                    samples = [timed_post(client, base, path, body, expect) for body in bodies]
                rows.append((label, size, samples, cpu.app_ms / count, cpu.db_ms / count))
                return samples

            pings = batch(
                "ping (DRF + SigV4)", 0, args.requests * 2, lambda: ping, "/v1/_bench/ping", 200
            )
            for size in [int(size) for size in args.sizes.split(",")]:
                count = max(20, args.requests // 4) if size >= 500 else args.requests
                batch(
                    f"create purchases, {size} line(s)",
                    size,
                    count,
                    lambda size=size: wire.dumps(cart(size, rng, end)),
                    "/v1/order/purchases",
                    201,
                )
            replay = wire.dumps(cart(100, rng, end))
            batch(
                "replay, 100 lines (lookup)",
                0,
                args.requests,
                lambda: replay,
                "/v1/order/purchases",
                201,
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        _purge_queues(args.broker_url)

    base_p50 = statistics.median(pings)
    base_cpu = rows[0][3] + rows[0][4]
    load = os.getloadavg()[0]
    print(
        f"\nCreate Purchases over HTTP — gunicorn {args.workers} sync workers, "
        f"{os.cpu_count()} cores, loopback, load average {load:.1f} at the end"
    )
    print(
        f"{'endpoint':31} {'n':>4} {'p50 ms':>7} {'p99 ms':>7} {'ms/line':>8} "
        f"{'app CPU':>8} {'db CPU':>7} {'CPU/line':>9}"
    )
    for label, size, samples, app_cpu, db_cpu in rows:
        wall = f"{(statistics.median(samples) - base_p50) / size:8.3f}" if size else f"{'':8}"
        cpu = f"{(app_cpu + db_cpu - base_cpu) / size:9.3f}" if size else f"{'':9}"
        print(
            f"{label:31} {len(samples):4d} {statistics.median(samples):7.2f} "
            f"{percentile(samples, 0.99):7.2f} {wall} {app_cpu:8.2f} {db_cpu:7.2f} {cpu}"
        )
    print(
        "ms/line = (p50 − ping p50) / lines. app/db CPU = CPU ms per request used by the gunicorn\n"
        "workers and their PostgreSQL backends (from /proc; unaffected by other load on the\n"
        "machine). CPU/line = (app + db CPU − the ping's) / lines."
    )


def _purge_queues(broker_url: str) -> None:
    """The bench enqueues one outbox delivery per cart and runs no worker: drop those messages."""
    try:
        import redis

        client = redis.Redis.from_url(broker_url)
        for queue in ("outbox", "payments", "default"):
            client.delete(queue)
    except Exception as error:  # noqa: BLE001 - best effort; report and go on
        print(f"could not purge the bench's queue messages: {error}")


if __name__ == "__main__":
    main()
