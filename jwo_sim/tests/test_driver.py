"""Shopper driver end to end against the stub connector server (issue 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jwo_sim import driver

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_demo_scenario_end_to_end(sim, retailer):
    scenario = driver.load(str(SCENARIOS / "demo.json"), env={"JWO_RETAILER_URL": retailer.url})
    summary = driver.run(scenario, sim.base_url)
    assert summary["errors"] == []
    assert (summary["shoppers"], summary["trips"]) == (9, 9)
    gate = summary["gate"]
    assert gate["bySource"] == {"RETAILER": 9}
    assert gate["denied"] == 1  # the expired card (the stub follows the recommendation)
    assert gate["gateOpen"] == 8
    assert summary["orders"]["byStatus"] == {"DELIVERED": 8}
    assert summary["orders"]["emptyCarts"] == 1
    assert set(gate["retailerLatencyMs"]) == {"p50", "p95", "p99", "max", "count"}
    assert len(retailer.order_requests) == 8
    group = [r for r in retailer.order_requests if len(r["shoppingTrip"]["authEvents"]) == 3]
    assert len(group) == 1
    assert retailer.auth_failures == []
    reduced = [t for t in summary["tripIds"] if sim.trip(t)["shopperId"] == "shopper-reduced"]
    assert str(sim.trip(reduced[0])["preauthAmount"]) == "30.00"


def test_rush_200_through_the_cli(sim, retailer, tmp_path):
    out = tmp_path / "summary.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jwo_sim",
            "drive",
            str(SCENARIOS / "rush_200.json"),
            "--sim-url",
            sim.base_url,
            "--retailer-url",
            retailer.url,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=SCENARIOS.parent.parent,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(out.read_text())
    assert summary["shoppers"] == 200 and summary["trips"] == 200
    assert summary["errors"] == []
    assert (
        summary["gate"]["gateOpen"] + summary["gate"]["denied"] + summary["gate"]["preauthDeclined"]
        == 200
    )
    orders = summary["orders"]["byStatus"]
    assert sum(orders.values()) == summary["gate"]["gateOpen"]
    assert set(orders) <= {"DELIVERED", "RETRYING"}
    assert summary["gate"]["retailerLatencyMs"]["p99"] < 2000


def test_percentiles_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert driver.percentiles(values) == {
        "p50": 50.0,
        "p95": 95.0,
        "p99": 99.0,
        "max": 100.0,
        "count": 100,
    }
    assert driver.percentiles([])["p50"] is None


def test_generate_is_deterministic():
    spec = {"count": 5, "store": "S", "seed": 3, "pEmptyCart": 0.2, "pGroup": 0.5}
    assert driver.generate(spec) == driver.generate(spec)
