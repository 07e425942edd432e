"""The trip state machine against PostgreSQL: allowed moves, refused moves, audit, races."""

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from core.errors import InvalidTransition
from core.models import AuditEntry
from tests.factories import make_trip
from trips.enums import TERMINAL_STATES, TripState
from trips.models import ShoppingTrip
from trips.selectors import trip_audit_trail
from trips.transitions import TRANSITIONS, trip_transition

pytestmark = pytest.mark.django_db


def test_every_state_has_a_row_in_the_transition_table():
    assert set(TRANSITIONS) == set(TripState.values)


def test_terminal_states_only_lead_to_a_later_payoff():
    for state in TERMINAL_STATES:
        assert TRANSITIONS[state] <= {TripState.SETTLED}


@pytest.mark.parametrize(
    ("from_state", "to_state"),
    [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)],
)
def test_each_allowed_move_changes_state_and_leaves_an_audit_entry(from_state, to_state):
    trip = make_trip(state=from_state, cart_total=Decimal("10.00"))
    moved = trip_transition(
        trip_pk=trip.pk, to_state=to_state, actor="system:test", reason="because"
    )
    assert moved.state == to_state
    trip.refresh_from_db()
    assert trip.state == to_state
    entry = trip_audit_trail(trip=trip).last()
    assert (entry.from_state, entry.to_state, entry.actor, entry.reason) == (
        from_state,
        to_state,
        "system:test",
        "because",
    )


@pytest.mark.parametrize(
    ("from_state", "to_state"),
    [
        (a, b)
        for a in TripState.values
        for b in TripState.values
        if b not in TRANSITIONS[a] and a != b
    ][:40],
)
def test_a_move_outside_the_table_is_refused_and_changes_nothing(from_state, to_state):
    trip = make_trip(state=from_state)
    with pytest.raises(InvalidTransition):
        trip_transition(trip_pk=trip.pk, to_state=to_state, actor="system:test")
    trip.refresh_from_db()
    assert trip.state == from_state
    assert not AuditEntry.objects.filter(entity="trip", entity_id=trip.audit_id).exists()


def test_transition_sets_amounts_with_the_state():
    trip = make_trip(state=TripState.ENTERED)
    trip_transition(
        trip_pk=trip.pk,
        to_state=TripState.PRICED,
        actor="system:test",
        updates={"cart_total": Decimal("23.47")},
    )
    trip.refresh_from_db()
    assert trip.cart_total == Decimal("23.47")


def test_transition_refuses_fields_outside_its_list():
    trip = make_trip()
    with pytest.raises(ValueError):
        trip_transition(
            trip_pk=trip.pk, to_state=TripState.PRICED, actor="x", updates={"currency": "EUR"}
        )


def test_database_refuses_settled_above_total():
    trip = make_trip(state=TripState.SETTLING, cart_total=Decimal("5.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        ShoppingTrip.objects.filter(pk=trip.pk).update(settled_amount=Decimal("5.01"))


def test_database_refuses_an_unknown_state():
    trip = make_trip()
    with pytest.raises(IntegrityError), transaction.atomic():
        ShoppingTrip.objects.filter(pk=trip.pk).update(state="HALF_DONE")


def test_audit_entries_cannot_be_updated_or_deleted():
    trip = make_trip(state=TripState.ENTERED)
    trip_transition(trip_pk=trip.pk, to_state=TripState.EMPTY, actor="system:test")
    entry = AuditEntry.objects.get(entity="trip", entity_id=trip.audit_id)
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()


@pytest.mark.django_db(transaction=True)
def test_concurrent_transitions_from_the_same_state_let_exactly_one_win():
    """Eight workers race SETTLING → SETTLED / RELEASED: the row lock lets one through."""
    trip = make_trip(state=TripState.SETTLING, cart_total=Decimal("10.00"))
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(index: int):
        target = TripState.SETTLED if index % 2 else TripState.RELEASED
        barrier.wait()
        try:
            trip_transition(trip_pk=trip.pk, to_state=target, actor=f"system:worker-{index}")
            result = "won"
        except InvalidTransition:
            result = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["won"]
    trip.refresh_from_db()
    assert trip.state in (TripState.SETTLED, TripState.RELEASED)
    assert AuditEntry.objects.filter(entity="trip", entity_id=trip.audit_id).count() == 1
