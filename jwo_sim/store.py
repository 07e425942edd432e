"""SQLite storage of the simulator: one file, WAL, one process-wide lock.

Documents (stores, shoppers, trips) are JSON written with ``jwo_client.wire`` so decimals stay
exact. Every access must happen while holding ``Database.lock``.
"""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from typing import Any

from jwo_client import wire

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stores (store_id TEXT PRIMARY KEY, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shoppers (shopper_id TEXT PRIMARY KEY, profile TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trips (
    trip_id TEXT PRIMARY KEY, store_id TEXT NOT NULL, shopper_id TEXT NOT NULL,
    state TEXT NOT NULL, currency TEXT NOT NULL, outstanding TEXT NOT NULL DEFAULT '0',
    created REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS trips_shopper ON trips (shopper_id);
CREATE TABLE IF NOT EXISTS refund_ids (refund_request_id TEXT PRIMARY KEY, trip_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, due REAL NOT NULL, kind TEXT NOT NULL,
    ref TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (due);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, trip_id TEXT NOT NULL,
    store_id TEXT NOT NULL, event_type TEXT NOT NULL, status TEXT NOT NULL, due REAL NOT NULL,
    created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, held INTEGER NOT NULL DEFAULT 0,
    envelope TEXT NOT NULL, last_error TEXT);
CREATE INDEX IF NOT EXISTS events_status ON events (status, due);
CREATE TABLE IF NOT EXISTS csv_rows (
    id INTEGER PRIMARY KEY AUTOINCREMENT, store_id TEXT NOT NULL, trip_id TEXT NOT NULL,
    row TEXT NOT NULL, repeat_left INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS csv_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT, store_id TEXT NOT NULL, path TEXT NOT NULL,
    rows INTEGER NOT NULL, cut_at TEXT NOT NULL);
"""
TABLES = (
    "kv",
    "stores",
    "shoppers",
    "trips",
    "refund_ids",
    "jobs",
    "events",
    "csv_rows",
    "csv_files",
)


class Database:
    def __init__(self, path: str):
        self.path = path
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)

    def execute(self, sql: str, params: tuple | list = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def clear(self) -> None:
        with self.lock:
            for table in TABLES:
                self.conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    # key/value -----------------------------------------------------------------------------
    def kv_get(self, key: str, default: Any = None) -> Any:
        row = self.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return default if row is None else wire.loads(row["value"])

    def kv_put(self, key: str, value: Any) -> None:
        self.execute(
            "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
            (key, wire.dumps(value).decode()),
        )

    def next_counter(self, name: str) -> int:
        value = int(self.kv_get(f"counter:{name}", 0)) + 1
        self.kv_put(f"counter:{name}", value)
        return value

    # stores and shoppers ----------------------------------------------------------------------
    def get_store(self, store_id: str) -> dict | None:
        row = self.execute("SELECT config FROM stores WHERE store_id = ?", (store_id,)).fetchone()
        return None if row is None else wire.loads(row["config"])

    def put_store(self, store_id: str, config: dict) -> None:
        self.execute(
            "INSERT OR REPLACE INTO stores (store_id, config) VALUES (?, ?)",
            (store_id, wire.dumps(config).decode()),
        )

    def store_ids(self) -> list[str]:
        return [row[0] for row in self.execute("SELECT store_id FROM stores ORDER BY store_id")]

    def get_shopper(self, shopper_id: str) -> dict | None:
        row = self.execute(
            "SELECT profile FROM shoppers WHERE shopper_id = ?", (shopper_id,)
        ).fetchone()
        return None if row is None else wire.loads(row["profile"])

    def put_shopper(self, shopper_id: str, profile: dict) -> None:
        self.execute(
            "INSERT OR REPLACE INTO shoppers (shopper_id, profile) VALUES (?, ?)",
            (shopper_id, wire.dumps(profile).decode()),
        )

    # trips ------------------------------------------------------------------------------------
    def get_trip(self, trip_id: str) -> dict | None:
        row = self.execute("SELECT data FROM trips WHERE trip_id = ?", (trip_id,)).fetchone()
        return None if row is None else wire.loads(row["data"])

    def put_trip(self, trip: dict) -> None:
        self.execute(
            "INSERT OR REPLACE INTO trips (trip_id, store_id, shopper_id, state, currency,"
            " outstanding, created, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                trip["tripId"],
                trip["storeId"],
                trip["shopperId"],
                trip["state"],
                trip["currency"],
                str(trip.get("outstanding", 0)),
                float(trip["createdEpoch"]),
                wire.dumps(trip).decode(),
            ),
        )

    def trip_ids(self, limit: int = 1000) -> list[str]:
        rows = self.execute("SELECT trip_id FROM trips ORDER BY created DESC LIMIT ?", (limit,))
        return [row[0] for row in rows]

    def balances(self, shopper_id: str) -> list[dict]:
        totals: dict[str, dict] = {}
        rows = self.execute(
            "SELECT currency, outstanding FROM trips WHERE shopper_id = ?", (shopper_id,)
        )
        for row in rows:
            amount = Decimal(row["outstanding"])
            if amount > 0:
                entry = totals.setdefault(row["currency"], {"amount": Decimal(0), "trips": 0})
                entry["amount"] += amount
                entry["trips"] += 1
        return [
            {"code": code, "amount": value["amount"], "trips": value["trips"]}
            for code, value in sorted(totals.items())
        ]

    # jobs -------------------------------------------------------------------------------------
    def add_job(self, due: float, kind: str, ref: str, data: dict | None = None) -> None:
        self.execute(
            "INSERT INTO jobs (due, kind, ref, data) VALUES (?, ?, ?, ?)",
            (due, kind, ref, wire.dumps(data or {}).decode()),
        )

    def pop_due_job(self, now: float, kinds: tuple[str, ...]) -> dict | None:
        marks = ",".join("?" for _ in kinds)
        row = self.execute(
            f"SELECT * FROM jobs WHERE due <= ? AND kind IN ({marks}) ORDER BY due, id LIMIT 1",  # noqa: S608
            (now, *kinds),
        ).fetchone()
        if row is None:
            return None
        self.execute("DELETE FROM jobs WHERE id = ?", (row["id"],))
        return {
            "id": row["id"],
            "due": row["due"],
            "kind": row["kind"],
            "ref": row["ref"],
            "data": wire.loads(row["data"]),
        }

    def has_job(self, kind: str, ref: str) -> bool:
        row = self.execute("SELECT 1 FROM jobs WHERE kind = ? AND ref = ?", (kind, ref))
        return row.fetchone() is not None

    def jobs_for(self, ref: str) -> list[dict]:
        rows = self.execute("SELECT due, kind FROM jobs WHERE ref = ? ORDER BY due", (ref,))
        return [{"due": row["due"], "kind": row["kind"]} for row in rows]
