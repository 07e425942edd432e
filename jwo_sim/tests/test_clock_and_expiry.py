"""Business clock (§8.3) and the 46 h pre-auth window (§0.9, §7)."""

from __future__ import annotations

import pytest

from .helpers import (
    adjust,
    body_of,
    cancel,
    capture,
    captured_trip,
    error_of,
    new_trip,
    refund,
    report,
    txd,
)


def test_clock_modes_set_and_advance(sim):
    assert sim.clock() == {"now": "2025-05-02T17:00:00.000Z", "mode": "frozen", "offsetSeconds": 0}
    assert sim.advance(600)["now"] == "2025-05-02T17:10:00.000Z"
    offset = sim.set_clock("2030-01-01T00:00:00Z", mode="offset")
    assert offset["mode"] == "offset" and offset["now"].startswith("2030-01-01T00:00")
    assert sim.control("POST", "/clock", {"mode": "real"})["mode"] == "real"
    with pytest.raises(Exception, match="400"):
        sim.advance(-1)
    with pytest.raises(Exception, match="400"):
        sim.control("POST", "/clock", {"setTo": "yesterday"})


def test_preauth_expires_after_46_hours_ae_7_14(sim, retailer):
    """AE-7.14: at the deadline the trip is EXPIRED with AuthorizationCancelled PREAUTH_EXPIRED;
    later calls → ShoppingTripExpiredException; a report is still accepted."""
    trip = new_trip(sim)
    adjust(sim, trip, "23.47")
    sim.advance(46 * 3600 - 1)
    assert sim.trip(trip)["state"] == "ADJUST_APPROVED"
    sim.advance(1)
    state = sim.trip(trip)
    assert state["state"] == "EXPIRED"
    last = state["events"][-1]
    assert (last["eventType"], last["declineReason"]) == (
        "AuthorizationCancelled",
        "PREAUTH_EXPIRED",
    )
    assert last["eventTime"] == "2025-05-04T15:00:00.000Z"
    for response in (
        adjust(sim, trip, "1.00"),
        cancel(sim, trip),
        capture(sim, trip, "1.00"),
        refund(sim, trip, "1.00"),
        txd(sim, trip),
    ):
        assert error_of(response) == "ShoppingTripExpiredException"
    accepted = report(sim, trip, "23.47", "0.00", 1746400000000)
    assert body_of(accepted) == {"status": "Accepted"}
    assert "AuthorizationCancelled" in retailer.event_types(trip)


def test_fields_are_checked_before_expiry(sim):
    trip = new_trip(sim)
    sim.advance(46 * 3600)
    assert error_of(adjust(sim, trip, "1.001")) == "BadRequestException"


@pytest.mark.parametrize("final", ["captured", "cancelled"])
def test_captured_and_cancelled_trips_never_expire(sim, final):
    trip = captured_trip(sim) if final == "captured" else new_trip(sim)
    if final == "cancelled":
        cancel(sim, trip)
    sim.advance(47 * 3600)
    assert sim.trip(trip)["state"] == {"captured": "CAPTURED", "cancelled": "CANCELLED"}[final]


def test_window_is_per_store(sim):
    sim.set_store("STORE-001", preauthWindowHours=2)
    trip = new_trip(sim)
    sim.advance(2 * 3600)
    assert sim.trip(trip)["state"] == "EXPIRED"


def test_pending_trip_expires_too(sim):
    sim.set_shopper("slow", profile="PENDING_THEN", n=10)
    trip = new_trip(sim, "slow")
    adjust(sim, trip, "5.00")
    sim.advance(46 * 3600)
    assert sim.trip(trip)["state"] == "EXPIRED"


def test_clock_endpoint_for_the_retailer(sim):
    """§8.3: GET /_sim/v1/clock → {now, mode}."""
    answer = sim.client.get(f"{sim.base_url}/_sim/v1/clock")
    assert answer.status_code == 200
    assert set(body_of(answer)) >= {"now", "mode"}
