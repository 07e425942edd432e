"""The payment lifecycle end to end: N priced trips through adjust → capture → feedback.

    .venv/bin/python bench/payments.py [--trips 300] [--rate 100] [--workers 2] [--concurrency 4]

What it does:
1. creates (or reuses) the bench database ``jwo_bench_payments``, migrates it, and uses its own
   Redis database (``--redis``, default db 14) as broker and for the shared guards;
2. starts the simulator (a subprocess, SigV4 verification on), gunicorn for the event feed
   (Amazon's ``CaptureApproved`` comes back over HTTP) and ``--workers`` real Celery workers;
3. opens N trips at the simulator's gate (not timed), then hands N priced carts to the payment
   lifecycle at ``--rate`` carts per second (0 = all at once, a batch after closing time),
   exactly as the ordering connector does (trip PRICED + outbox row in one commit);
4. waits until every trip is captured and its payment status report is Accepted, and reads
   from the database: cart→capture latency per trip (hand-off commit → Amazon's 200 to the
   capture), trips per second through adjust, capture and feedback, and the number of calls
   made to the simulator;
5. measures, in the same run, the simulator's own capacity: signed adjust calls sent straight
   from this process (no product code) by several threads, answered from the stored result.

No faults are injected: Amazon answers promptly. The machine is shared (2 cores; simulator,
PostgreSQL, Redis, web, workers and this driver all on it): read the figures next to the
simulator's own rate from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_harness import ensure_database, free_port, percentile  # noqa: E402

from jwo_client import wire  # noqa: E402
from jwo_client.sigv4 import Credentials, sign_request  # noqa: E402
from jwo_sim.testing import RunningSimulator  # noqa: E402

KEY = ("AKIDBENCHPAY", "bench-payments-secret-not-for-production")
EVENT_KEY = "bench-event-key"
STORE_ID = "BENCH-PAY-001"
LOG_DIR = ROOT / "var" / "bench-payments"


def product_env(args, sim_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jwo_store.settings.local",
        "DATABASE_URL": args.database,
        "CELERY_BROKER_URL": args.redis,
        "PAYMENTS_REDIS_URL": args.redis,
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "JWO_PAYMENT_BASE_URL": sim_url,
        "JWO_CLOCK_SOURCE": "",
        "JWO_EVENT_API_KEYS": EVENT_KEY,
        "AWS_ACCESS_KEY_ID": KEY[0],
        "AWS_SECRET_ACCESS_KEY": KEY[1],
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PAYMENTS_RATE_PER_SECOND": "1000",
        "PAYMENTS_RATE_BURST": "1000",
    }


def start_web(env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"), "jwo_store.wsgi",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread",
            "--threads", "4", "--log-level", "warning",
        ],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def start_workers(env: dict[str, str], count: int, concurrency: int) -> list[subprocess.Popen]:
    workers = []
    for number in range(count):
        log = open(LOG_DIR / f"worker-{number}.log", "wb")  # noqa: SIM115 - lives with the worker
        workers.append(
            subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "jwo_store", "worker",
                    "-Q", "payments,outbox,default", "-c", str(concurrency), "-P", "prefork",
                    "-n", f"bench{number}@%h", "-l", "INFO",
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                ],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
    return workers


TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        current = stack.pop()
        pids.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            stack.extend(int(child) for child in children.read_text().split())
    return pids


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU of each live process, from /proc/<pid>/stat."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return used


def reaped_children_cpu(pid: int) -> float:
    """CPU of the children ``pid`` has reaped (cutime + cstime from /proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / TICKS


def postmaster_pid(database: str) -> int | None:
    """PostgreSQL's postmaster: the parent of this process's own backend."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def postgres_backends(database: str) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database.rsplit("/", 1)[1]],
        )
        return [row[0] for row in cursor.fetchall()]


class CpuMeter:
    """CPU spent by groups of processes between ``start`` and ``stop`` (processes present at
    either end are counted; a process that exits in between loses its share)."""

    def __init__(self, groups, postmaster: int | None = None):
        self.groups = groups  # name -> callable returning pids
        self.postmaster = postmaster

    def snapshot(self) -> dict[str, dict[int, float]]:
        return {name: cpu_seconds(find()) for name, find in self.groups.items()}

    def start(self) -> None:
        self.before = self.snapshot()
        self.reaped_before = reaped_children_cpu(self.postmaster) if self.postmaster else 0.0

    def stop(self) -> dict[str, float]:
        after = self.snapshot()
        spent = {}
        for name, usage in after.items():
            spent[name] = sum(
                value - self.before[name].get(pid, 0.0) for pid, value in usage.items()
            )
        if self.postmaster:
            # Backends that exited during the run (a connection per task would hide its CPU
            # from the live-backend figure). Every database's: other jobs on the machine count.
            spent["postgresExitedAnyDb"] = reaped_children_cpu(self.postmaster) - self.reaped_before
        return spent


def orm_read_cpu_ms(reads: int = 500) -> float:
    """The same-run yardstick: CPU of one ORM primary-key read in this process, in ms."""
    from trips.models import Store

    pk = Store.objects.values_list("pk", flat=True).first()
    started = time.process_time()
    for _ in range(reads):
        Store.objects.filter(pk=pk).first()
    return (time.process_time() - started) * 1000 / reads


def wait_ready(count: int, timeout: float = 120) -> None:
    """Every worker has logged 'ready.' (their start-up is not part of the measurement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = sum(b" ready." in (LOG_DIR / f"worker-{n}.log").read_bytes() for n in range(count))
        if ready == count:
            return
        time.sleep(0.2)
    raise SystemExit("workers did not start")


def simulator_capacity(sim, trip_ids: list[str], seconds: float, threads: int) -> float:
    """Signed adjust calls (same amount → stored result) straight at the simulator."""
    url = f"{sim.base_url}/v1/adjust/charge"
    done = []
    stop = time.monotonic() + seconds

    def hammer(offset: int) -> None:
        count = 0
        with httpx.Client(timeout=10) as client:
            index = offset
            while time.monotonic() < stop:
                body = wire.dumps(
                    {
                        "storeId": STORE_ID,
                        "shoppingTripId": trip_ids[index % len(trip_ids)],
                        "amount": {"amount": Decimal("1.00"), "code": "USD"},
                    }
                )
                headers = sign_request(
                    method="POST",
                    url=url,
                    body=body,
                    credentials=Credentials(*KEY),
                    region="us-east-1",
                )
                client.post(url, content=body, headers=headers)
                count += 1
                index += threads
        done.append(count)

    pool = [threading.Thread(target=hammer, args=(n,)) for n in range(threads)]
    started = time.monotonic()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def run(args) -> dict:
    ensure_database(args.database)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with RunningSimulator(retailer_keys=dict([KEY]), seed=int(time.time())) as sim:
        env = product_env(args, sim.base_url)
        os.environ.update(env)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        import django

        django.setup()
        import redis
        from django.db import connection, transaction

        from core.outbox import outbox_sweep
        from payments.models import AmazonCall, Charge
        from payments.services.events import events_sweep
        from trips.enums import TripState
        from trips.models import PaymentStatusReport, Shopper, ShoppingTrip, Store
        from trips.services.handoff import trip_hand_to_payments
        from trips.services.trips import trip_get_or_create
        from trips.transitions import trip_transition

        redis.Redis.from_url(args.redis).flushdb()
        port = free_port()
        store, _ = Store.objects.get_or_create(
            store_id=STORE_ID, defaults={"name": "Payments bench", "currency": "USD"}
        )
        sim.set_store(
            STORE_ID,
            faMode="AMAZON_MANAGED",
            eventEndpointUrl=f"http://127.0.0.1:{port}/v1/events/jwo",
            eventApiKey=EVENT_KEY,
        )
        web = start_web(env, port)
        workers = start_workers(env, args.workers, args.concurrency)
        try:
            shopper, _ = Shopper.objects.get_or_create(
                identity_id="bench-shopper", defaults={"first_seen_at": datetime.now(UTC)}
            )
            sim.set_shopper("bench-shopper", profile="APPROVE_ALL", brand="VISA", tail="4242")
            print(f"opening {args.trips} trips at the simulator's gate …", flush=True)
            trips = []
            for _ in range(args.trips):
                gate = sim.gate(STORE_ID, "bench-shopper")
                trip, _ = trip_get_or_create(
                    store=store, shopping_trip_id=gate["shoppingTripId"], actor="bench",
                    shopper=shopper, preauth_amount=gate["preauthAmount"],
                    preauth_at=datetime.now(UTC),
                )  # fmt: skip
                trips.append(trip)
            # Planner statistics, as autovacuum keeps them in production (it is off on the
            # bench machine: without them PostgreSQL picks poor plans as the tables grow).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            wait_ready(len(workers))
            meter = CpuMeter(
                {
                    "workers": lambda: [p for w in workers for p in process_tree(w.pid)],
                    "web": lambda: process_tree(web.pid),
                    "simulator": lambda: [sim.process.pid],
                    "postgres": lambda: postgres_backends(args.database),
                    "driver": lambda: [os.getpid()],
                },
                postmaster=postmaster_pid(args.database),
            )
            meter.start()
            print(f"handing {args.trips} priced carts over at {args.rate or 'max'}/s …", flush=True)
            handed: dict[int, datetime] = {}
            started = time.monotonic()
            first = datetime.now(UTC)
            for index, trip in enumerate(trips):
                if args.rate:
                    delay = started + index / args.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                total = Decimal(500 + index % 4000) / 100
                with transaction.atomic():
                    moved = trip_transition(
                        trip_pk=trip.pk, to_state=TripState.PRICED, actor="bench:ordering",
                        updates={"cart_total": total},
                    )  # fmt: skip
                    trip_hand_to_payments(trip=moved)
                handed[trip.pk] = datetime.now(UTC)
            feed_seconds = time.monotonic() - started
            deadline = time.monotonic() + args.timeout
            pks = list(handed)
            next_sweep = time.monotonic() + 15
            while time.monotonic() < deadline:
                accepted = PaymentStatusReport.objects.filter(
                    trip_id__in=pks, outcome="Accepted"
                ).count()
                if accepted >= len(pks):
                    break
                if time.monotonic() >= next_sweep:  # what beat does, at beat's pace
                    outbox_sweep()
                    next_sweep += 15
                time.sleep(0.2)
            settle_deadline = time.monotonic() + 60
            swept = 0
            while time.monotonic() < settle_deadline:  # CaptureApproved comes back as events
                if not ShoppingTrip.objects.filter(pk__in=pks, state=TripState.SETTLING).exists():
                    break
                if time.monotonic() >= next_sweep:  # beat's event sweep: an event whose task
                    swept += events_sweep()  # failed is retried after 30 s, as in production
                    next_sweep += 15
                time.sleep(0.2)
            captured = dict(
                Charge.objects.filter(
                    trip_id__in=pks, capture_initiated_at__isnull=False
                ).values_list("trip_id", "capture_initiated_at")
            )
            reported = dict(
                AmazonCall.objects.filter(
                    trip_id__in=pks, operation="payment_status", outcome="OK"
                ).values_list("trip_id", "recorded_at")
            )
            cpu = meter.stop()
            yardstick = orm_read_cpu_ms()
            latencies = [
                (captured[pk] - handed[pk]).total_seconds() for pk in pks if pk in captured
            ]
            last = max(reported.values()) if reported else datetime.now(UTC)
            window = (last - first).total_seconds()
            calls = AmazonCall.objects.filter(trip_id__in=pks).count()
            settled = ShoppingTrip.objects.filter(pk__in=pks, state=TripState.SETTLED).count()
            capacity = simulator_capacity(
                sim, [t.shopping_trip_id for t in trips], args.capacity_seconds, args.threads
            )
        finally:
            for worker in workers:
                worker.terminate()
            web.terminate()
            for process in [*workers, web]:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
    all_cpu = sum(spent for name, spent in cpu.items() if name != "postgresExitedAnyDb")
    return {
        "trips": len(pks),
        "captured": len(captured),
        "reportedAccepted": len(reported),
        "settledByEvent": settled,
        "eventsRetriedBySweep": swept,
        "feedSeconds": round(feed_seconds, 2),
        "tripsPerSecond": round(len(reported) / window, 1) if window > 0 else None,
        "cartToCaptureP50Ms": round(statistics.median(latencies) * 1000) if latencies else None,
        "cartToCaptureP99Ms": round(percentile(latencies, 0.99) * 1000) if latencies else None,
        "callsToSimulator": calls,
        "simulatorRequestsPerSecondDuringRun": round(calls / window, 1) if window > 0 else None,
        "simulatorCapacityRequestsPerSecond": round(capacity, 1),
        "workers": args.workers,
        "concurrency": args.concurrency,
        **{f"cpuMsPerTrip_{name}": round(spent * 1000 / len(pks)) for name, spent in cpu.items()},
        # Every process of the run on this machine (the exited-backends figure aside): what 2
        # cores can afford per trip bounds the rate, whatever the latency.
        "cpuMsPerTrip_all": round(all_cpu * 1000 / len(pks), 1),
        "tripsPerSecondIfCpuBound2Cores": round(2 * len(pks) / all_cpu, 1) if all_cpu else None,
        "cpuMsPerOrmRead": round(yardstick, 3),
        "tripCostInOrmReads": round(
            (cpu["workers"] + cpu["web"] + cpu["postgres"]) * 1000 / len(pks) / yardstick
        ),
        "loadAverage1m": round(os.getloadavg()[0], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trips", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100, help="carts per second; 0 = batch")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--capacity-seconds", type=float, default=3)
    parser.add_argument("--threads", type=int, default=8, help="threads for the capacity probe")
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/jwo_bench_payments"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5", help="flushed first")
    args = parser.parse_args()
    result = run(args)
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
