"""Gate bench: Shopper Authorization under a rush at the doors, next to a minimal signed endpoint.

Starts a real server (gunicorn, threads, persistent database connections) on loopback against a
fresh database, seeds a store with a published policy and shoppers with and without debt, and
drives, for both the gate and ``/v1/_bench/ping`` (DRF + SigV4 verification, nothing else):

- rush:      bursts of 100 simultaneous requests (everyone at the doors at once);
- in flight: 100 requests kept in flight for a while (closed loop): throughput and latency;
- sustained: an open-loop constant arrival rate, as on a busy afternoon.

Requests are signed before each phase (SigV4, as Amazon signs them) so the load generator spends
its time sending bytes, not signing. Prints p50/p99/p99.9/max latency and throughput per phase,
and the gate's throughput as a share of the ping's.

Usage: .venv/bin/python bench/gate.py [--workers 2] [--threads 16] [--seconds 10] [--rate 300]
       [--sync-commit] [--keep-db] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jwo_client import wire  # noqa: E402
from jwo_client.sigv4 import Credentials, sign_request  # noqa: E402

GATE_PATH = "/v1/fraudandabuse/shopperauthorization"
PING_PATH = "/v1/_bench/ping"
KEY = Credentials("AKIDBENCHAMAZON", "bench-secret-not-secret")
REGION = "us-east-1"
STORE_ID = "BENCH-STORE-1"
SHOPPERS = 20_000
DEBTORS = 2_000
PYTHON = sys.executable


def server_env(args, database_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="jwo_store.settings.local",
        DJANGO_DEBUG="false",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=args.broker,
        JWO_INBOUND_KEYS=f"{KEY.access_key}:{KEY.secret_key}",
        JWO_AWS_REGION=REGION,
        JWO_BENCH_ENDPOINTS="true",
        LOG_LEVEL=args.log_level,
        JWO_GATE_SYNCHRONOUS_COMMIT="true" if args.sync_commit else "false",
    )
    return env


def run(cmd: list[str], env: dict) -> None:
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


SEED = """
import random
from datetime import timedelta
from decimal import Decimal
from django.db import connection
from core import clock
from debt.models import ShopperStanding
from gate.enums import Action, BalanceCondition
from gate.models import PolicyRule
from gate.services.policies import policy_draft_create, policy_version_publish
from trips.models import Store

store = Store.objects.create(store_id="{store_id}", name="Bench store")
draft = policy_draft_create(store=store, actor="system:bench", reason="bench policy")
rules = [
    dict(name="Small balance, raised pre-auth", balance=BalanceCondition.OUTSTANDING,
         max_outstanding=Decimal("10.00"), escalation_levels=["NONE", "NOTICE"],
         action=Action.ADJUST, adjust_add_outstanding=True),
    dict(name="No QR at night", event_types=["QR"], action=Action.DENY, deny_reason="QR_CLOSED"),
    dict(name="Expired cards", risks_any=["ExpiredCard"], action=Action.DENY),
    dict(name="Big cart hint", cart_hint="PRESENT", min_cart_total=Decimal("200.00"),
         action=Action.ADJUST, adjust_amount=Decimal("250.00")),
]
PolicyRule.objects.filter(version=draft).update(position=len(rules) + 1)
for position, rule in enumerate(rules, start=1):
    PolicyRule.objects.create(version=draft, position=position, **rule)
policy_version_publish(version=draft, actor="system:bench", reason="bench policy")
now = clock.now()
rows = []
for number in range({debtors}):
    amount = Decimal(random.choice(["4.99", "8.47", "23.47", "61.20"]))
    rows.append(ShopperStanding(identity_id=f"bench-shopper-{{number:05d}}", currency="USD",
        outstanding_amount=amount, blocking_amount=amount, unpaid_trips=1,
        oldest_unpaid_at=now - timedelta(hours=random.randint(1, 500))))
ShopperStanding.objects.bulk_create(rows, batch_size=1000)
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
"""


def prepare_database(args) -> str:
    name = args.database
    base = args.database_url.rsplit("/", 1)[0]
    admin = f"{base}/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    url = f"{base}/{name}"
    env = server_env(args, url)
    run([PYTHON, "manage.py", "migrate", "--no-input"], env)
    seed = SEED.format(store_id=STORE_ID, debtors=DEBTORS)
    run([PYTHON, "manage.py", "shell", "-c", seed], env)
    return url


def drop_database(args) -> None:
    admin = args.database_url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(
        ["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)"],
        check=False,
    )


def start_server(args, url: str) -> subprocess.Popen:
    env = server_env(args, url)
    command = [
        str(Path(PYTHON).with_name("gunicorn")),
        "jwo_store.wsgi:application",
        "--worker-class",
        "gthread",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--bind",
        f"127.0.0.1:{args.port}",
        "--keep-alive",
        "60",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _ = asyncio.run(_one_get(args.port, "/healthz"))
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise SystemExit("the server did not start")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


async def _one_get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    return int(data.split(b" ", 2)[1]), data


# --- requests -----------------------------------------------------------------------------------


def gate_body(rng: random.Random) -> bytes:
    shopper = rng.randrange(SHOPPERS)
    authorized = rng.random() > 0.05
    risks = [] if authorized else [rng.choice(["BadDebt", "InvalidCard", "CustomerFraud"])]
    kind, interaction = rng.choice(
        [("CREDIT_CARD", "TAP")] * 6
        + [
            ("CREDIT_CARD", "INSERT"),
            ("AMAZON_ONE", "PALM"),
            ("QR", "SCAN"),
            ("MOBILE_WALLET", "TAP"),
        ]
    )
    body = {
        "storeId": STORE_ID,
        "shopperIdentity": {"id": f"bench-shopper-{shopper:05d}"},
        "authorizedAmount": {"value": Decimal("50.00"), "currencyCode": "USD"},
        "shopperInteraction": {
            "shoppingTripId": str(uuid.uuid4()),
            "gateAuthenticationEvent": {
                "id": f"gae-{uuid.uuid4()}",
                "type": kind,
                "interactionType": interaction,
                "timestamp": wire.format_timestamp(time_now()),
                "location": "ENTRY",
                "data": {"gateId": f"G{rng.randrange(4)}"},
            },
            "recommendation": {"shopperAuthorized": authorized, "shopperRisks": risks},
        },
    }
    return wire.dumps(body)


def time_now():
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def signed_request(port: int, path: str, body: bytes) -> bytes:
    url = f"http://127.0.0.1:{port}{path}"
    headers = sign_request(method="POST", url=url, body=body, credentials=KEY, region=REGION)
    lines = [f"POST {path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: keep-alive", "", ""]
    return "\r\n".join(lines).encode() + body


def build_requests(port: int, path: str, count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    if path == PING_PATH:
        return [signed_request(port, path, b'{"ping":%d}' % i) for i in range(count)]
    return [signed_request(port, path, gate_body(rng)) for _ in range(count)]


# --- load generator -----------------------------------------------------------------------------


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection; one request at a time; latency from write to full response."""

    def __init__(self):
        self.transport = None
        self.buffer = b""
        self.waiter: asyncio.Future | None = None
        self.expected: int | None = None
        self.status = 0

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        if self.expected is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            self.status = int(head.split(" ", 2)[1])
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            self.expected = end + 4 + length
        if len(self.buffer) >= self.expected and self.waiter and not self.waiter.done():
            self.waiter.set_result((self.status, self.buffer[: self.expected]))

    def connection_lost(self, exc):
        if self.waiter and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("closed"))

    async def request(self, raw: bytes) -> tuple[int, float]:
        loop = asyncio.get_running_loop()
        self.buffer, self.expected = b"", None
        self.waiter = loop.create_future()
        started = time.perf_counter()
        self.transport.write(raw)
        status, _response = await self.waiter
        return status, time.perf_counter() - started


async def open_connections(port: int, count: int) -> list[HttpConnection]:
    loop = asyncio.get_running_loop()
    connections = []
    for _ in range(count):
        _transport, protocol = await loop.create_connection(HttpConnection, "127.0.0.1", port)
        connections.append(protocol)
    return connections


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, status: int, latency: float) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
        return ordered[index] * 1000

    def summary(self) -> dict:
        return {
            "phase": self.name,
            "requests": len(self.latencies),
            "throughput_rps": round(len(self.latencies) / self.seconds, 1) if self.seconds else 0,
            "p50_ms": round(self.pct(0.50), 2),
            "p99_ms": round(self.pct(0.99), 2),
            "p999_ms": round(self.pct(0.999), 2),
            "max_ms": round(max(self.latencies) * 1000, 2),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2),
            "over_1s": sum(1 for latency in self.latencies if latency > 1.0),
            "statuses": dict(self.statuses),
        }


async def rush(port: int, requests: list[bytes], concurrency: int, name: str) -> Result:
    """Bursts of ``concurrency`` simultaneous requests, one after another."""
    connections = await open_connections(port, concurrency)
    result = Result(name)
    started = time.perf_counter()
    for offset in range(0, len(requests) - concurrency + 1, concurrency):
        burst = requests[offset : offset + concurrency]
        outcomes = await asyncio.gather(
            *(conn.request(raw) for conn, raw in zip(connections, burst, strict=True))
        )
        for status, latency in outcomes:
            result.add(status, latency)
    result.seconds = time.perf_counter() - started
    for conn in connections:
        conn.transport.close()
    return result


async def closed_loop(
    port: int, requests: list[bytes], concurrency: int, name: str, seconds: float = 3600
) -> Result:
    """``concurrency`` requests always in flight, until the requests or the time run out."""
    connections = await open_connections(port, concurrency)
    result = Result(name)
    queue = iter(requests)
    stop_at = time.perf_counter() + seconds

    async def worker(conn: HttpConnection):
        for raw in queue:
            status, latency = await conn.request(raw)
            result.add(status, latency)
            if time.perf_counter() > stop_at:
                return

    started = time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in connections))
    result.seconds = time.perf_counter() - started
    for conn in connections:
        conn.transport.close()
    return result


async def open_loop(port: int, requests: list[bytes], rate: float, name: str) -> Result:
    """Arrivals at a constant rate whatever the answers do (latency includes queueing). A
    connection is opened only when every open one is busy, as a client pool would."""
    loop = asyncio.get_running_loop()
    idle: list[HttpConnection] = []
    opened: list[HttpConnection] = []
    result = Result(name)
    pending = set()

    async def send(raw: bytes, due: float):
        if idle:
            conn = idle.pop()
        else:
            _transport, conn = await loop.create_connection(HttpConnection, "127.0.0.1", port)
            opened.append(conn)
        status, _latency = await conn.request(raw)
        result.add(status, time.perf_counter() - due)  # measured from the scheduled arrival
        idle.append(conn)

    started = time.perf_counter()
    for index, raw in enumerate(requests):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(raw, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    result.seconds = time.perf_counter() - started
    for conn in opened:
        conn.transport.close()
    return result


# --- CPU accounting (robust on a shared machine: what each request costs, not how long it took)


TICK = os.sysconf("SC_CLK_TCK")


def _process_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            children += [int(c) for c in (task / "children").read_text().split()]
    return children


def cpu_ticks(server_pid: int, database_url: str, database: str) -> tuple[int, int]:
    """(ticks used by the server's processes, ticks used by its PostgreSQL backends)."""
    server = sum(_process_ticks(pid) for pid in [server_pid, *_children(server_pid)])
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    query = f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'"  # noqa: S608
    output = subprocess.run(
        ["psql", admin, "-tAc", query], capture_output=True, text=True, check=False
    ).stdout
    backends = [int(line) for line in output.split() if line.strip().isdigit()]
    return server, sum(_process_ticks(pid) for pid in backends)


def _psql(url: str, query: str) -> list[str]:
    output = subprocess.run(
        ["psql", url, "-tAc", query], capture_output=True, text=True, check=False
    ).stdout
    return output.split()


def last_decision_id(url: str) -> int:
    return int((_psql(url, "SELECT coalesce(max(id), 0) FROM gate_gatedecision") or ["0"])[0])


def decisions_per_write(url: str, after_id: int) -> float:
    """Decisions logged since ``after_id`` per transaction that wrote them (group commit: the
    rows of one batch share their ``xmin``)."""
    columns = "count(*) || ' ' || count(DISTINCT xmin::text)"
    query = f"SELECT {columns} FROM gate_gatedecision WHERE id > {int(after_id)}"  # noqa: S608
    rows, writes = (int(value) for value in (_psql(url, query) or ["0", "0"]))
    return rows / writes if writes else 0.0


# --- driver -------------------------------------------------------------------------------------


def warm(port: int, path: str, seed: int) -> None:
    """Open every worker thread's database connection and fill the caches."""
    asyncio.run(closed_loop(port, build_requests(port, path, 600, seed), 50, "warm-up"))


def phase(port, path, kind, args, seed, server_pid, suffix: str = "") -> dict:
    label = "gate" if path == GATE_PATH else "ping"
    if kind == "rush":
        count = args.concurrency * args.bursts
    elif kind == "in-flight":
        count = int(args.expected_rps * args.seconds)
    else:
        count = int(args.rate * args.seconds)
    requests = build_requests(port, path, max(count, 1), seed)
    name = f"{label} {kind}{suffix}"
    url = args.database_url.rsplit("/", 1)[0] + f"/{args.database}"
    first_id = last_decision_id(url) if label == "gate" else 0
    before = cpu_ticks(server_pid, args.database_url, args.database)
    if kind == "rush":
        result = asyncio.run(rush(port, requests, args.concurrency, name))
    elif kind == "in-flight":
        result = asyncio.run(closed_loop(port, requests, args.concurrency, name, args.seconds))
    else:
        result = asyncio.run(open_loop(port, requests, args.rate, name))
    after = cpu_ticks(server_pid, args.database_url, args.database)
    summary = result.summary()
    count = max(1, summary["requests"])
    summary["server_cpu_ms"] = round((after[0] - before[0]) * 1000 / TICK / count, 3)
    summary["postgres_cpu_ms"] = round((after[1] - before[1]) * 1000 / TICK / count, 3)
    if label == "gate":
        summary["decisions_per_write"] = round(decisions_per_write(url, first_id), 2)
    print(
        f"{name:<18} {summary['requests']:>7} {summary['throughput_rps']:>9} "
        f"{summary['p50_ms']:>8} {summary['p99_ms']:>8} {summary['p999_ms']:>8} "
        f"{summary['max_ms']:>8} {summary['over_1s']:>6} {summary['server_cpu_ms']:>7} "
        f"{summary['postgres_cpu_ms']:>6}  {summary['statuses']}"
        + (f"  {summary['decisions_per_write']} per write" if label == "gate" else ""),
        flush=True,
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="jwo_bench_gate")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--port", type=int, default=8741)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--bursts", type=int, default=30, help="rush: number of bursts of 100")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each timed phase")
    parser.add_argument("--expected-rps", type=float, default=1500, help="sizes the in-flight run")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="sustained arrivals per second (default: half the gate's in-flight throughput)",
    )
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--sync-commit", action="store_true", help="flush the WAL per decision")
    parser.add_argument(
        "--compare-sync-commit",
        action="store_true",
        help="then restart the server with synchronous commit and run the gate phases again",
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    url = prepare_database(args)
    server = start_server(args, url)
    print(f"load average before the run: {os.getloadavg()[0]:.1f} (the machine is shared)")
    results = []
    try:
        for path in (PING_PATH, GATE_PATH):
            warm(args.port, path, 1)
        header = f"{'phase':<18} {'reqs':>7} {'req/s':>9} {'p50':>8} {'p99':>8} {'p99.9':>8} "
        print(
            header + f"{'max':>8} {'>1s':>6} {'app cpu':>7} {'pg cpu':>6}  statuses"
            "   (ms; cpu = CPU ms per request)"
        )
        for kind in ("rush", "in-flight", "sustained"):
            if kind == "sustained" and args.rate is None:
                args.rate = max(10.0, round(results[-1]["throughput_rps"] / 2))
                print(f"sustained rate: {args.rate:.0f} arrivals/s for both endpoints")
            for seed, path in enumerate((PING_PATH, GATE_PATH), start=2):
                results.append(phase(args.port, path, kind, args, seed, server.pid))
        if args.compare_sync_commit and not args.sync_commit:
            stop_server(server)
            args.sync_commit = True
            server = start_server(args, url)
            warm(args.port, GATE_PATH, 9)
            for kind in ("rush", "in-flight", "sustained"):
                results.append(phase(args.port, GATE_PATH, kind, args, 10, server.pid, " sync"))
    finally:
        stop_server(server)
        if not args.keep_db:
            drop_database(args)
    print(f"load average after the run: {os.getloadavg()[0]:.1f}")
    by_name = {result["phase"]: result for result in results}
    gate, ping = by_name["gate in-flight"], by_name["ping in-flight"]
    ratio = gate["throughput_rps"] / ping["throughput_rps"]
    print(f"gate throughput = {ratio:.0%} of the minimal signed endpoint's (target ≥ 60%)")
    cpu_gate = gate["server_cpu_ms"] + gate["postgres_cpu_ms"]
    cpu_ping = ping["server_cpu_ms"] + ping["postgres_cpu_ms"]
    if cpu_gate:
        print(
            f"CPU per request: gate {cpu_gate:.2f} ms, ping {cpu_ping:.2f} ms: the gate can reach "
            f"{cpu_ping / cpu_gate:.0%} of the ping's throughput on the same cores"
        )
    print(
        f"gate p99 with {args.concurrency} in flight: rush {by_name['gate rush']['p99_ms']} ms, "
        f"closed loop {by_name['gate in-flight']['p99_ms']} ms (target < 50 ms)"
    )
    synchronous = by_name.get("gate in-flight sync")
    if synchronous:
        steady, steady_sync = by_name["gate sustained"], by_name["gate sustained sync"]
        print(
            f"decision log without a WAL flush per decision: {gate['throughput_rps']} req/s "
            f"in flight, sustained p50/p99 {steady['p50_ms']}/{steady['p99_ms']} ms; with one: "
            f"{synchronous['throughput_rps']} req/s, {steady_sync['p50_ms']}/"
            f"{steady_sync['p99_ms']} ms"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
