"""Storage: state survives a restart of the simulator process (issue 3)."""

from __future__ import annotations

from jwo_sim.testing import RunningSimulator

from .helpers import adjust, body_of


def test_state_and_clock_survive_a_restart(tmp_path):
    first = RunningSimulator(tmpdir=tmp_path).start()
    try:
        first.set_clock("2025-05-02T17:00:00Z")
        first.set_store("STORE-001")
        first.set_shopper("pat", email="pat@example.com")
        trip = first.gate("STORE-001", "pat")["shoppingTripId"]
        assert adjust(first, trip, "12.00").status_code == 200
    finally:
        first.stop()
    second = RunningSimulator(tmpdir=tmp_path).start()
    try:
        assert second.clock()["now"] == "2025-05-02T17:00:00.000Z"
        assert second.trip(trip)["state"] == "ADJUST_APPROVED"
        assert body_of(adjust(second, trip, "12.00"))["status"] == "APPROVED"
        second.advance(46 * 3600)
        assert second.trip(trip)["state"] == "EXPIRED"
    finally:
        second.stop()


def test_no_verify_switch_accepts_unsigned_calls(tmp_path):
    with RunningSimulator(tmpdir=tmp_path, verify=False) as sim:
        sim.set_store("STORE-001")
        response = sim.call(
            "/v1/identity/shopper", {"storeId": "STORE-001", "shopperId": {"id": "x"}}, sign=False
        )
        assert response.status_code == 200
