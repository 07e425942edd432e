"""Intra-day CSV reports (§6)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from jwo_sim.csv_reports import COLUMNS

from .helpers import adjust, capture, new_trip

CART = [
    {
        "id": "SKU-001",
        "type": "SKU",
        "quantity": {"value": "2.0", "unit": "unit"},
        "lineItemId": "li-1",
    },
    {"id": "SKU-BANANA", "type": "SKU", "quantity": {"value": "0.742", "unit": "kg"}},
]
NAME = re.compile(r"^jwo_intraday_STORE-001_\d{8}T\d{6}Z_\d{4}\.csv$")


def _rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_layout_naming_and_atomic_rename_ae_6_3(sim, tmp_path):
    """AE-6.3: path, name, header, rows; written via .csv.tmp and rename; seq per day."""
    trip = new_trip(sim)
    sim.exit(trip, CART, endTime="2025-05-02T17:09:39Z")
    adjust(sim, trip, "23.47")
    capture(sim, trip, "23.47")
    [path] = sim.flush_csv()
    file = Path(path)
    assert file.parent == tmp_path / "csv/jwo/intraday/STORE-001/2025/05/02"
    assert NAME.match(file.name) and file.name.endswith("_20250502T170000Z_0001.csv")
    assert not list(file.parent.glob("*.tmp"))
    raw = file.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    assert raw.split(b"\n")[0].decode() == ",".join(COLUMNS)
    rows = _rows(path)
    kinds = [(r["record_type"], r["payment_action"], r["payment_status"]) for r in rows]
    assert kinds == [
        ("PAYMENT", "AUTHORIZATION", "APPROVED"),
        ("CART_LINE", "", ""),
        ("CART_LINE", "", ""),
        ("PAYMENT", "ADJUST", "APPROVED"),
        ("PAYMENT", "CAPTURE", "APPROVED"),
    ]
    line = rows[1]
    assert line["record_id"] == f"{trip}:L:li-1"
    assert rows[2]["record_id"] == f"{trip}:L:1"
    assert (line["quantity_value"], line["quantity_unit"], line["item_type"]) == (
        "2.0",
        "unit",
        "SKU",
    )
    capture_row = rows[-1]
    assert capture_row["record_id"] == f"{trip}:P:CAPTURE:1"
    assert (capture_row["amount"], capture_row["currency"]) == ("23.47", "USD")
    assert capture_row["purchase_id"] == f"P-{trip[:8]}"
    assert capture_row["trip_end_utc"] == "2025-05-02T17:09:39Z"
    assert capture_row["reconciliation_id"] and capture_row["card_tail"] == "1234"
    assert {r["file_sequence"] for r in rows} == {"1"}
    adjust(sim, new_trip(sim), "1.00")
    [second] = sim.flush_csv()
    assert second.endswith("_0002.csv")
    assert sim.flush_csv() == []


def test_scheduled_cut_every_interval_of_business_time_ae_6_3(sim, tmp_path):
    new_trip(sim)
    sim.advance(14 * 60)
    folder = tmp_path / "csv/jwo/intraday/STORE-001/2025/05/02"
    assert not folder.exists()
    sim.advance(60)
    [file] = folder.glob("*.csv")
    assert file.name.endswith("_20250502T171500Z_0001.csv")


def test_pending_adjust_row_is_reissued_with_a_higher_version_ae_6_5(sim):
    sim.set_shopper("slow", profile="PENDING_THEN", n=1)
    trip = new_trip(sim, "slow")
    adjust(sim, trip, "9.00")
    first = _rows(sim.flush_csv()[0])
    adjust(sim, trip, "9.00")
    second = _rows(sim.flush_csv()[0])
    pending = next(r for r in first if r["payment_action"] == "ADJUST")
    final = next(r for r in second if r["payment_action"] == "ADJUST")
    assert pending["record_id"] == final["record_id"] == f"{trip}:P:ADJUST:1"
    assert (pending["record_version"], pending["payment_status"]) == ("1", "PENDING")
    assert (final["record_version"], final["payment_status"]) == ("2", "APPROVED")


def test_row_repeat_ae_6_4(sim):
    """AE-6.4: pRowRepeat: the same row and version again in a later file."""
    sim.faults(csv={"pRowRepeat": 1.0})
    new_trip(sim)
    first = _rows(sim.flush_csv()[0])
    second = _rows(sim.flush_csv()[0])
    strip = [{k: v for k, v in r.items() if k != "file_sequence"} for r in first]
    assert strip == [{k: v for k, v in r.items() if k != "file_sequence"} for r in second]
    assert sim.flush_csv() == []


def test_split_trip_over_two_files_ae_6_5(sim):
    """AE-6.5: pSplitTrip: one trip's rows in two files."""
    sim.faults(csv={"pSplitTrip": 1.0})
    trip = new_trip(sim)
    adjust(sim, trip, "2.00")
    first = _rows(sim.flush_csv()[0])
    sim.faults({})
    second = _rows(sim.flush_csv()[0])
    assert len(first) == 1 and len(second) == 1
    assert {r["shopping_trip_id"] for r in first + second} == {trip}


def test_expiry_writes_a_cancel_expired_row(sim, tmp_path):
    """AE-6.5: an expired trip is complete with CANCEL/EXPIRED, cut on the business clock."""
    trip = new_trip(sim)
    sim.advance(46 * 3600)
    rows = [row for path in sorted((tmp_path / "csv").glob("**/*.csv")) for row in _rows(path)]
    expired = [
        r for r in rows if (r["payment_action"], r["payment_status"]) == ("CANCEL", "EXPIRED")
    ]
    assert [r["shopping_trip_id"] for r in expired] == [trip]
    assert expired[0]["event_time_utc"] == "2025-05-04T15:00:00Z"


CONTRACT_HEADER = (
    "record_id,record_version,file_sequence,store_id,shopping_trip_id,purchase_id,record_type,"
    "event_time_utc,trip_start_utc,trip_end_utc,line_item_id,item_id,item_type,quantity_value,"
    "quantity_unit,payment_action,payment_status,amount,currency,reconciliation_id,"
    "refund_request_id,card_brand,card_tail"
)


def test_header_is_the_contracts_word_for_word_6(sim):
    """§6: the header row, copied from the contract's example, not from the code's own list."""
    new_trip(sim)
    [path] = sim.flush_csv()
    assert Path(path).read_text(encoding="utf-8").split("\n")[0] == CONTRACT_HEADER


def test_seq4_counts_per_store_and_per_utc_day_6(sim, tmp_path):
    """§6: ``seq4`` counts per store and UTC day from 0001; the folder is the cut's UTC date."""
    sim.set_clock("2025-05-02T23:58:00Z")
    sim.set_store("STORE-002", csvTarget=str(tmp_path / "csv"))
    new_trip(sim)
    new_trip(sim, store="STORE-002")
    first = sorted(Path(p).name for p in sim.flush_csv())
    assert first == [
        "jwo_intraday_STORE-001_20250502T235800Z_0001.csv",
        "jwo_intraday_STORE-002_20250502T235800Z_0001.csv",
    ]
    new_trip(sim)
    assert Path(sim.flush_csv("STORE-001")[0]).name.endswith("_0002.csv")
    sim.control("POST", "/clock", {"advanceSeconds": 180, "wait": True})
    new_trip(sim)
    [after_midnight] = sim.flush_csv("STORE-001")
    assert Path(after_midnight).parent == tmp_path / "csv/jwo/intraday/STORE-001/2025/05/03"
    assert Path(after_midnight).name.endswith("_0001.csv")
