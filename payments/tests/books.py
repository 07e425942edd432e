"""Assertions shared by the multi-process tests: our books equal the simulator's to the cent,
and no transition was lost or doubled."""

from __future__ import annotations

import time
from decimal import Decimal

from core.audit import audit_trail
from core.outbox import outbox_sweep
from debt.models import Debt
from payments.enums import ChargeState
from payments.models import Charge
from trips.enums import TERMINAL_STATES
from trips.models import PaymentStatusReport, ShoppingTrip

CAPTURE = "/v1/capture/charge"
CANCEL = "/v1/cancel/charge"
ZERO = Decimal("0")


def wait_until_terminal(harness, trips, *, seconds: float, beat_every: float = 0.3) -> bool:
    """Play beat (the outbox sweep) while the workers run, until every trip is terminal."""
    pks = [trip.pk for trip in trips]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        outbox_sweep()
        open_trips = ShoppingTrip.objects.filter(pk__in=pks).exclude(state__in=TERMINAL_STATES)
        settling = Charge.objects.filter(
            trip_id__in=pks,
            state__in=[ChargeState.CAPTURING, ChargeState.CAPTURE_INITIATED],
        )
        if not open_trips.exists() and not settling.exists():
            return True
        time.sleep(beat_every)
    return False


def stuck(trips) -> list[tuple]:
    """What is not finished yet, for the failure message."""
    from core.models import OutboxMessage, OutboxStatus

    rows = []
    for trip in ShoppingTrip.objects.filter(pk__in=[t.pk for t in trips]):
        charge = Charge.objects.filter(trip=trip).first()
        if trip.state in TERMINAL_STATES and (
            charge is None
            or charge.state not in (ChargeState.CAPTURING, ChargeState.CAPTURE_INITIATED)
        ):
            continue
        live = list(
            OutboxMessage.objects.filter(trip_ref=trip.shopping_trip_id)
            .exclude(status=OutboxStatus.SUCCEEDED)
            .values_list("key", "status", "attempts", "last_status_code", "next_attempt_at")
        )
        rows.append((trip.shopping_trip_id[:8], trip.state, charge and charge.state, live))
    return rows


def charge_chain_is_whole(charge: Charge) -> None:
    """Every transition starts where the previous one ended; each state is entered once."""
    entries = list(audit_trail(entity="charge", entity_id=charge.audit_id))
    assert entries[0].action == "opened", entries[0]
    state = entries[0].to_state
    entered = [state]
    for entry in entries[1:]:
        assert entry.from_state == state, (charge.pk, [(e.action, e.to_state) for e in entries])
        if entry.action == "transition":
            state = entry.to_state
            entered.append(state)
    assert state == charge.state
    for once in (ChargeState.CAPTURING, ChargeState.CAPTURE_INITIATED, ChargeState.CANCELLING):
        assert entered.count(once) <= 1, (charge.pk, entered)


def assert_books_match(harness, trips) -> dict[str, int]:
    """For every trip: terminal here; the same capture (amount) or release on Amazon's side; the
    same outstanding balance in our debt book and in Amazon's balance book, to the cent."""
    outcomes: dict[str, int] = {}
    for trip in trips:
        trip, charge = harness.fresh(trip)
        remote = harness.sim_trip(trip)
        assert trip.state in TERMINAL_STATES, (trip.shopping_trip_id, trip.state, charge.state)
        charge_chain_is_whole(charge)
        capture_amounts = {
            call["request"]["amount"]["amount"]
            for call in harness.sim_calls(trip, CAPTURE)
            if call["status"] == 200
        }
        if charge.state in (ChargeState.CAPTURED, ChargeState.CAPTURE_DECLINED):
            assert capture_amounts == {charge.capture_amount}
            assert Decimal(remote["capture"]["amount"]) == charge.capture_amount
            expected_remote = (
                "CAPTURED" if charge.state == ChargeState.CAPTURED else "CAPTURE_DECLINED"
            )
            assert remote["state"] == expected_remote
        else:
            assert capture_amounts == set(), (trip.shopping_trip_id, charge.state)
            assert remote["state"] in ("CANCELLED", "EXPIRED"), remote["state"]
        settled = charge.capture_amount if charge.state == ChargeState.CAPTURED else ZERO
        assert trip.settled_amount == settled
        debt = Debt.objects.filter(trip=trip).first()
        owed = debt.outstanding_amount if debt else ZERO
        assert Decimal(remote.get("outstanding") or 0) == owed, (trip.shopping_trip_id, owed)
        initiated = PaymentStatusReport.objects.filter(trip=trip, reason="CAPTURE_INITIATED")
        assert initiated.count() <= 1
        assert not PaymentStatusReport.objects.filter(trip=trip, outcome="").exists()
        outcomes[charge.state] = outcomes.get(charge.state, 0) + 1
    return outcomes
