"""Intra-day CSV reports (contract §6): rows queued as outcomes happen, cut into files.

Files go to ``<csvTarget>/jwo/intraday/<storeId>/<YYYY>/<MM>/<DD>/``, named
``jwo_intraday_<storeId>_<YYYYMMDDTHHmmssZ>_<seq4>.csv``; each is written as ``.csv.tmp`` and
renamed. Cuts run every ``csvIntervalMinutes`` of business time, or on ``POST /csv/flush``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
from decimal import Decimal
from typing import Any

from jwo_client import wire

COLUMNS = [
    "record_id",
    "record_version",
    "file_sequence",
    "store_id",
    "shopping_trip_id",
    "purchase_id",
    "record_type",
    "event_time_utc",
    "trip_start_utc",
    "trip_end_utc",
    "line_item_id",
    "item_id",
    "item_type",
    "quantity_value",
    "quantity_unit",
    "payment_action",
    "payment_status",
    "amount",
    "currency",
    "reconciliation_id",
    "refund_request_id",
    "card_brand",
    "card_tail",
]


def _queue(sim: Any, trip: dict, row: dict) -> None:
    sim.database.execute(
        "INSERT INTO csv_rows (store_id, trip_id, row) VALUES (?, ?, ?)",
        (trip["storeId"], trip["tripId"], wire.dumps(row).decode()),
    )


def payment_row(
    sim: Any,
    trip: dict,
    action: str,
    n: int,
    status: str,
    amount: Decimal,
    at: dt.datetime,
    *,
    version: int = 1,
    reconciliation_id: str | None = None,
    refund_request_id: str | None = None,
) -> None:
    profile = sim.profile(trip["shopperId"])
    _queue(
        sim,
        trip,
        {
            "record_id": f"{trip['tripId']}:P:{action}:{n}",
            "record_version": version,
            "record_type": "PAYMENT",
            "event_time_utc": wire.format_timestamp(at),
            "payment_action": action,
            "payment_status": status,
            "amount": wire.format_amount(Decimal(amount), trip["currency"]),
            "currency": trip["currency"],
            "reconciliation_id": reconciliation_id or "",
            "refund_request_id": refund_request_id or "",
            "card_brand": profile.get("brand") or "VISA",
            "card_tail": profile.get("tail") or "1234",
        },
    )


def cart_rows(sim: Any, trip: dict, cart_items: list, at: dt.datetime) -> None:
    """One ``CART_LINE`` row per line; a malformed line (sent on purpose, to rehearse the
    retailer's 400s) is written with what can be read from it."""
    for index, item in enumerate(cart_items):
        item = item if isinstance(item, dict) else {}
        quantity = item.get("quantity") if isinstance(item.get("quantity"), dict) else {}
        line_id = _text(item.get("lineItemId"))
        _queue(
            sim,
            trip,
            {
                "record_id": f"{trip['tripId']}:L:{line_id or index}",
                "record_version": 1,
                "record_type": "CART_LINE",
                "event_time_utc": wire.format_timestamp(at),
                "line_item_id": line_id,
                "item_id": _text(item.get("id")),
                "item_type": _text(item.get("type")),
                "quantity_value": _text(quantity.get("value")),
                "quantity_unit": _text(quantity.get("unit")),
            },
        )


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else wire.dumps(value).decode()


def _path(target: str, store_id: str, at: dt.datetime, sequence: int) -> str:
    folder = os.path.join(target, "jwo", "intraday", store_id, f"{at:%Y}", f"{at:%m}", f"{at:%d}")
    name = f"jwo_intraday_{store_id}_{at:%Y%m%dT%H%M%SZ}_{sequence:04d}.csv"
    return os.path.join(folder, name)


def cut(sim: Any, store_id: str, at: dt.datetime) -> str | None:
    """Write the store's queued rows into one file; return its path (``None`` if no rows)."""
    database = sim.database
    store = database.get_store(store_id)
    if store is None:
        return None
    rows = [
        dict(r)
        for r in database.execute(
            "SELECT id, trip_id, row, repeat_left FROM csv_rows WHERE store_id = ? ORDER BY id",
            (store_id,),
        )
    ]
    if not rows:
        return None
    deferred: set[int] = set()
    by_trip: dict[str, list[dict]] = {}
    for row in rows:
        by_trip.setdefault(row["trip_id"], []).append(row)
    for trip_rows in by_trip.values():
        if len(trip_rows) > 1 and sim.faults.probability("csv", "pSplitTrip"):
            deferred.update(r["id"] for r in trip_rows[len(trip_rows) // 2 :])
    chosen = [row for row in rows if row["id"] not in deferred]
    if not chosen:
        return None
    sequence = database.next_counter(f"csvseq:{store_id}:{at:%Y%m%d}")
    trips: dict[str, dict] = {}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in chosen:
        trip = trips.get(row["trip_id"]) or database.get_trip(row["trip_id"]) or {}
        trips[row["trip_id"]] = trip
        record = {column: "" for column in COLUMNS}
        record.update(wire.loads(row["row"]))
        order = trip.get("order") or {}
        record.update(
            file_sequence=sequence,
            store_id=store_id,
            shopping_trip_id=row["trip_id"],
            purchase_id=order.get("purchaseId") or "",
            trip_start_utc=trip.get("startTime") or trip.get("createdAt") or "",
            trip_end_utc=trip.get("endTime") or "",
        )
        writer.writerow(record)
    path = _path(sim.csv_target(store), store_id, at, sequence)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())
    os.replace(path + ".tmp", path)
    for row in chosen:
        if row["repeat_left"] == 0 and sim.faults.probability("csv", "pRowRepeat"):
            database.execute("UPDATE csv_rows SET repeat_left = -1 WHERE id = ?", (row["id"],))
        else:
            database.execute("DELETE FROM csv_rows WHERE id = ?", (row["id"],))
    database.execute(
        "INSERT INTO csv_files (store_id, path, rows, cut_at) VALUES (?, ?, ?, ?)",
        (store_id, path, len(chosen), wire.format_timestamp(at)),
    )
    return path


def scheduled_cut(sim: Any, store_id: str, at: dt.datetime) -> None:
    store = sim.database.get_store(store_id)
    if store is None:
        return
    cut(sim, store_id, at)
    interval = float(store["csvIntervalMinutes"]) * 60
    # Skip boundaries at which nothing can have happened: before the next other job and now.
    other = sim.database.execute("SELECT MIN(due) FROM jobs WHERE kind != 'csv_cut'").fetchone()
    horizon = min(sim.now().timestamp(), other[0] if other[0] is not None else float("inf"))
    steps = max(1, math.floor((horizon - at.timestamp()) / interval))
    sim.database.add_job(at.timestamp() + steps * interval, "csv_cut", store_id)


def ensure_schedule(sim: Any, store_id: str) -> None:
    """Make sure the store has exactly one pending cut job (after PUT /stores)."""
    sim.database.execute("DELETE FROM jobs WHERE kind = 'csv_cut' AND ref = ?", (store_id,))
    store = sim.database.get_store(store_id)
    interval = dt.timedelta(minutes=float(store["csvIntervalMinutes"]))
    sim.database.add_job((sim.now() + interval).timestamp(), "csv_cut", store_id)


def flush(sim: Any, store_id: str | None = None) -> list[str]:
    at = sim.now()
    stores = [store_id] if store_id else sim.database.store_ids()
    return [path for path in (cut(sim, sid, at) for sid in stores) if path]
