"""Concurrent calls on one trip keep the §7 state table consistent: threads fire at the same
instant (a barrier) over real HTTP, and exactly one of the competing transitions wins."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from .helpers import adjust, cancel, capture, error_of, new_trip, refund, report

THREADS = 8


def _together(calls):
    """Run the callables at the same instant; return their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _events(sim, trip, event_type):
    return [e for e in sim.trip(trip)["events"] if e["eventType"] == event_type]


@pytest.mark.parametrize("delay", [0, 30])
def test_simultaneous_identical_captures_make_one_capture_cap_1(sim, delay):
    """CAP-1 / §7: eight identical captures at once all answer 200 ("identical repeat"), and
    the trip is captured once, with one ``CaptureApproved``."""
    sim.set_store("STORE-001", asyncDelaySeconds=delay)
    trip = new_trip(sim)
    adjust(sim, trip, "25.99")
    answers = _together([lambda: capture(sim, trip, "25.99")] * THREADS)
    assert [a.status_code for a in answers] == [200] * THREADS
    sim.advance(delay)
    state = sim.trip(trip)
    assert (state["state"], state["capture"]["amount"]) == ("CAPTURED", Decimal("25.99"))
    assert len(_events(sim, trip, "CaptureApproved")) == 1


def test_simultaneous_captures_of_different_amounts_one_wins(sim):
    """§7: "CAPTURING or later | a capture with another amount → 400": one amount wins."""
    trip = new_trip(sim)
    adjust(sim, trip, "30.00")
    amounts = [f"{10 + n}.00" for n in range(THREADS)]
    answers = _together([lambda a=a: capture(sim, trip, a) for a in amounts])
    winners = [a for a, r in zip(amounts, answers, strict=True) if r.status_code == 200]
    assert len(winners) == 1
    assert all(error_of(r) == "BadRequestException" for r in answers if r.status_code != 200)
    assert sim.trip(trip)["capture"]["amount"] == Decimal(winners[0])


@pytest.mark.parametrize("round_", range(4))
def test_capture_racing_cancel_has_one_outcome_7(sim, round_):
    """§7: capture and cancel at the same instant: exactly one is accepted, the other is a 400,
    and the events match the state (CaptureApproved xor AuthorizationCancelled)."""
    trip = new_trip(sim)
    adjust(sim, trip, "12.00")
    calls = [lambda: capture(sim, trip, "12.00"), lambda: cancel(sim, trip)] * (THREADS // 2)
    answers = _together(calls)
    captured = any(r.status_code == 200 for r in answers[0::2])
    cancelled = any(r.status_code == 200 for r in answers[1::2])
    assert captured != cancelled, round_
    state = sim.trip(trip)["state"]
    assert state == ("CAPTURED" if captured else "CANCELLED")
    assert len(_events(sim, trip, "CaptureApproved")) == (1 if captured else 0)
    assert len(_events(sim, trip, "AuthorizationCancelled")) == (0 if captured else 1)


def test_simultaneous_refunds_never_exceed_the_captured_amount_3_4(sim):
    """§3.4: approved plus in-flight refunds ≤ captured, also under concurrency: 8 refunds of
    3.00 against 10.00 captured → exactly 3 accepted."""
    trip = new_trip(sim)
    adjust(sim, trip, "10.00")
    capture(sim, trip, "10.00")
    answers = _together([lambda: refund(sim, trip, "3.00")] * THREADS)
    assert sorted(r.status_code for r in answers) == [200] * 3 + [400] * 5
    refunds = sim.trip(trip)["refunds"]
    assert sum(Decimal(r["amount"]) for r in refunds) == Decimal("9.00")
    assert sim.trip(trip)["state"] == "PARTIALLY_REFUNDED"


def test_simultaneous_replays_of_one_refund_make_one_refund_ae_7_8(sim):
    """AE-7.8 / RFD-13: the same ``refundRequestId`` eight times at once → one refund, and every
    answer carries the same ``reconciliationId``."""
    trip = new_trip(sim)
    adjust(sim, trip, "10.00")
    capture(sim, trip, "10.00")
    refund_id = str(uuid.uuid4())
    answers = _together([lambda: refund(sim, trip, "4.00", refund_id)] * THREADS)
    assert {r.status_code for r in answers} == {200}
    assert len({r.json()["reconciliationId"] for r in answers}) == 1
    assert len(sim.trip(trip)["refunds"]) == 1
    assert len(_events(sim, trip, "RefundApproved")) == 1


def test_simultaneous_reports_keep_the_latest_fb_tc002(sim):
    """FB-TC002 / §4: reports racing each other: the latest ``paymentStatusTime`` is the one
    kept, whatever order they arrive in; the balance follows it."""
    trip = new_trip(sim)
    base = 1746206123000
    settled = [f"{n}.00" for n in range(THREADS)]
    answers = _together(
        [lambda n=n: report(sim, trip, "20.00", settled[n], base + n) for n in range(THREADS)]
    )
    assert {r.status_code for r in answers} == {200}
    last = sim.trip(trip)["lastReport"]
    assert last["paymentStatusTime"] == base + THREADS - 1
    assert sim.balances("shopper-001") == [{"code": "USD", "amount": Decimal("13.00"), "trips": 1}]


def test_simultaneous_adjusts_leave_one_current_adjust_3_1(sim):
    """§3.1: adjusts with different amounts at once: each answer is a complete result, and the
    trip's current adjust is one of them, consistently stored (capture follows it)."""
    trip = new_trip(sim)
    amounts = [f"{20 + n}.00" for n in range(THREADS)]
    answers = _together([lambda a=a: adjust(sim, trip, a) for a in amounts])
    assert {r.json()["status"] for r in answers} == {"APPROVED"}
    current = sim.trip(trip)["adjust"]
    assert str(current["amount"]) in amounts
    assert capture(sim, trip, str(current["amount"])).status_code == 200


def test_simultaneous_gates_open_distinct_trips(sim):
    answers = _together([lambda: sim.gate("STORE-001", "shopper-001")] * THREADS)
    assert len({a["shoppingTripId"] for a in answers}) == THREADS
    assert all(a["gateOpen"] for a in answers)
