"""Several real processes on the same trips against PostgreSQL: Celery workers, a duplicate
deliverer, a janitor-and-admin meddler, operators releasing charges while workers capture."""

import time
from decimal import Decimal

import pytest

from core import clock
from payments.enums import ChargeState

from .books import CANCEL, CAPTURE, assert_books_match, stuck, wait_until_terminal
from .processes import CeleryWorker, start_racer

pytestmark = pytest.mark.slow


def test_workers_duplicates_janitor_and_admin_racing_never_double_capture_or_lose_a_transition(
    make_harness, tmp_path
):
    """Three worker processes plus a duplicate deliverer and a meddler (janitor re-drives, admin
    retries, re-deliveries) on the same trips, with lost answers (500 after the operation) and
    duplicated events (AE-6.7): every trip ends terminal, captured at most once, with every
    transition chained, and Amazon's books equal ours to the cent."""
    harness = make_harness(preauth_amount=Decimal("10.00"), decline_search_attempts=3)
    harness.sim.set_clock("2026-05-04T15:00:00Z", mode="offset")  # moves with the wall clock
    clock.invalidate()
    harness.sim.faults(
        {
            "/v1/capture/charge": {"p500": 0.3, "phase": "after"},
            "/v1/adjust/charge": {"p500": 0.15, "phase": "after"},
            "events": {"pDuplicate": 0.3},
        }
    )
    trips = []
    for n in range(6):
        trips.append(harness.priced_trip(f"1{n}.25"))
    for n in range(2):
        trips.append(harness.priced_trip(f"2{n}.00", profile="PARTIAL", available=Decimal("15")))
    for n in range(2):
        trips.append(
            harness.priced_trip(f"3{n}.00", profile="DECLINE_OVER_LIMIT", limit=Decimal("20"))
        )
    for n in range(2):
        trips.append(harness.priced_trip(f"4{n}.40", declineCapture=True))
    workers = [
        CeleryWorker(harness.sim, tmp_path, name=f"w{n}", concurrency=1).start(wait=False)
        for n in range(3)
    ]
    start = time.time() + 1
    racers = [
        start_racer(harness.sim, tmp_path, mode="deliver", seconds=8, start_at=start, name="d"),
        start_racer(harness.sim, tmp_path, mode="meddle", seconds=8, start_at=start, name="m"),
    ]
    try:
        finished = wait_until_terminal(harness, trips, seconds=50)
        for racer in racers:
            racer.wait(timeout=30)
    finally:
        for worker in workers:
            worker.stop()
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
    left = stuck(trips)
    harness.run()  # anything a stopped worker left due

    assert finished, left
    outcomes = assert_books_match(harness, trips)
    assert outcomes[ChargeState.CAPTURED] == 10
    assert outcomes[ChargeState.CAPTURE_DECLINED] == 2


def test_capture_racing_release_sends_exactly_one_request_to_amazon(harness, tmp_path):
    """Operators release charges while deliverers capture them, in four processes at once: per
    trip exactly one request (a capture or a cancel) reaches Amazon, never both."""
    trips = [harness.priced_trip(f"5.{n:02d}") for n in range(16)]
    start = time.time() + 2
    racers = [
        start_racer(harness.sim, tmp_path, mode=mode, seconds=5, start_at=start, name=f"{mode}{n}")
        for n in range(2)
        for mode in ("deliver", "void")
    ]
    for racer in racers:
        racer.wait(timeout=60)
    harness.run()

    captured = released = 0
    for trip in trips:
        requests = harness.sim_calls(trip, CAPTURE) + harness.sim_calls(trip, CANCEL)
        assert len(requests) == 1, (trip.shopping_trip_id, requests)
        _, charge = harness.fresh(trip)
        if requests[0]["path"] == CAPTURE:
            assert charge.state == ChargeState.CAPTURED
            captured += 1
        else:
            assert charge.state == ChargeState.CANCELLED
            released += 1
    assert captured + released == len(trips)
    assert_books_match(harness, trips)
