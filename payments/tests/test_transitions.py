"""The charge state machine: the table, its one transition function, the money constraints, and
a Hypothesis rule-based machine that throws every kind of answer at the real services."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from core import clock
from core.audit import audit_trail
from core.errors import InvalidTransition
from core.models import OutboxMessage
from debt.models import Debt
from payments.enums import ADJUST_STATES, TERMINAL_CHARGE_STATES, CallOutcome, ChargeState
from payments.locks import trip_and_charge_for_update
from payments.models import Charge
from payments.services.charges import charge_apply_adjust, charge_open
from payments.services.operations import charge_redrive, charge_void
from payments.services.outcomes import charge_apply_cancel, charge_apply_capture
from payments.services.settlement import capture_outcome, charge_expire
from payments.transitions import TRANSITIONS, charge_transition
from tests import factories
from trips.enums import TERMINAL_STATES, TripState
from trips.models import PaymentStatusReport

S = ChargeState


def test_the_table_never_cancels_a_captured_charge_and_terminal_states_have_no_exit():
    """Never cancel a captured charge; never capture from a released or expired one."""
    assert set(TRANSITIONS) == set(ChargeState.values)
    for state in (S.CAPTURING, S.CAPTURE_INITIATED, S.CAPTURED, S.CAPTURE_DECLINED):
        assert S.CANCELLING not in TRANSITIONS[state]
    for state in (S.CANCELLING, S.CANCELLED, S.EXPIRED):
        assert S.CAPTURING not in TRANSITIONS[state]
    for state in TERMINAL_CHARGE_STATES:
        assert TRANSITIONS[state] == frozenset()
    assert all(
        target in ChargeState.values for targets in TRANSITIONS.values() for target in targets
    )


def opened_charge(total="20.00") -> Charge:
    trip = factories.make_trip(state=TripState.PRICED, cart_total=Decimal(total))
    return charge_open(trip_pk=trip.pk)


@pytest.mark.django_db
def test_a_move_outside_the_table_is_refused_and_an_allowed_one_is_audited():
    charge = opened_charge()
    with transaction.atomic():
        _, locked = trip_and_charge_for_update(trip_pk=charge.trip_id)
        with pytest.raises(InvalidTransition):
            charge_transition(charge=locked, to_state=S.CAPTURED, actor="test")
        charge_transition(charge=locked, to_state=S.ADJUST_PENDING, actor="test", reason="why")

    entry = list(audit_trail(entity="charge", entity_id=charge.audit_id))[-1]
    assert (entry.from_state, entry.to_state, entry.actor, entry.reason) == (
        S.ADJUSTING,
        S.ADJUST_PENDING,
        "test",
        "why",
    )


@pytest.mark.django_db
def test_a_stale_charge_instance_is_refused():
    charge = opened_charge()
    stale = Charge.objects.get(pk=charge.pk)
    with transaction.atomic():
        _, locked = trip_and_charge_for_update(trip_pk=charge.trip_id)
        charge_transition(charge=locked, to_state=S.SEARCHING, actor="test")
    with transaction.atomic(), pytest.raises(InvalidTransition):
        charge_transition(charge=stale, to_state=S.ADJUST_PENDING, actor="test")


@pytest.mark.django_db(transaction=True)
def test_a_charge_locked_in_an_earlier_transaction_is_locked_again_and_refused_if_stale():
    """The lock taken by trip_and_charge_for_update spares charge_transition a second lock only
    in the same transaction; an instance carried into a later one is locked and checked."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    charge = opened_charge()
    with transaction.atomic():
        _, locked = trip_and_charge_for_update(trip_pk=charge.trip_id)
        with CaptureQueriesContext(connection) as queries:
            charge_transition(charge=locked, to_state=S.ADJUST_PENDING, actor="test")
        assert not any(" UPDATE" in query["sql"] and query["sql"].startswith("SELECT")
                       for query in queries.captured_queries)  # fmt: skip
    Charge.objects.filter(pk=charge.pk).update(state=S.SEARCHING)  # someone else moved it
    with transaction.atomic(), pytest.raises(InvalidTransition):
        charge_transition(charge=locked, to_state=S.CAPTURING, actor="test")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("approved", "captured"),
    [(Decimal("10.00"), Decimal("10.01")), (None, Decimal("5.00")), (Decimal("5"), Decimal("0"))],
)
def test_the_database_refuses_a_capture_beyond_the_approval(approved, captured):
    """Never capture more than approved, without an approval, or zero (a check constraint)."""
    charge = opened_charge()
    with pytest.raises(IntegrityError), transaction.atomic():
        Charge.objects.filter(pk=charge.pk).update(
            approved_amount=approved, capture_amount=captured
        )


@pytest.mark.django_db
def test_release_is_refused_once_a_capture_was_requested():
    charge = opened_charge()
    with transaction.atomic():
        _, locked = trip_and_charge_for_update(trip_pk=charge.trip_id)
        charge_transition(
            charge=locked,
            to_state=S.CAPTURING,
            actor="test",
            updates={"approved_amount": Decimal("20.00"), "capture_amount": Decimal("20.00")},
        )

    assert charge_void(trip_pk=charge.trip_id, actor="test") == "too-late"
    assert Charge.objects.get(pk=charge.pk).state == S.CAPTURING


# --- a rule-based state machine over the real services ------------------------------------------
def latest(charge: Charge, prefix: str) -> OutboxMessage | None:
    return (
        OutboxMessage.objects.filter(key__startswith=f"{prefix}:{charge.pk}", status="PENDING")
        .order_by("-id")
        .first()
    )


def answered(message: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=message.pk).update(status="SUCCEEDED")


class ChargeMachine(RuleBasedStateMachine):
    """Any order of answers, events, operator actions and re-drives: the money invariants hold."""

    @initialize(cents=st.integers(min_value=100, max_value=20000))
    def open(self, cents):
        total = Decimal(cents) / 100
        trip = factories.make_trip(
            state=TripState.PRICED, cart_total=total, shopper=factories.make_shopper()
        )
        self.charge = charge_open(trip_pk=trip.pk)
        self.trip = trip

    def refresh(self):
        self.charge.refresh_from_db()
        self.trip.refresh_from_db()

    @rule(
        status=st.sampled_from(["APPROVED", "DECLINED", "PENDING", "EXPIRED", "REFUSED"]),
        share=st.sampled_from([Decimal("1"), Decimal("0.5"), Decimal("0.01")]),
    )
    def adjust_answer(self, status, share):
        message = latest(self.charge, "adjust")
        if message is None:
            return
        answered(message)
        requested = Decimal(message.payload["amount"])
        if status in ("EXPIRED", "REFUSED"):
            outcome = CallOutcome.EXPIRED if status == "EXPIRED" else CallOutcome.PERMANENT
            result = {"outcome": outcome, "errorMsg": status}
        else:
            authorized = max(Decimal("0.01"), (requested * share).quantize(Decimal("0.01")))
            result = {"outcome": CallOutcome.OK, "status": status, "authorized": str(authorized)}
        charge_apply_adjust(payload=message.payload, result=result)

    @rule(outcome=st.sampled_from([CallOutcome.OK, CallOutcome.EXPIRED, CallOutcome.PERMANENT]))
    def capture_answer(self, outcome):
        message = latest(self.charge, "capture")
        if message is not None:
            answered(message)
            charge_apply_capture(payload=message.payload, result={"outcome": outcome})

    @rule(outcome=st.sampled_from([CallOutcome.OK, CallOutcome.EXPIRED]))
    def cancel_answer(self, outcome):
        message = latest(self.charge, "cancel")
        if message is not None:
            answered(message)
            charge_apply_cancel(payload=message.payload, result={"outcome": outcome})

    @rule(approved=st.booleans())
    def capture_event(self, approved):
        with transaction.atomic():
            trip, charge = trip_and_charge_for_update(trip_pk=self.trip.pk)
            if charge.capture_amount is not None:
                capture_outcome(trip, charge, approved=approved, amount=charge.capture_amount)

    @rule()
    def window_closes(self):
        with transaction.atomic():
            trip, charge = trip_and_charge_for_update(trip_pk=self.trip.pk)
            charge_expire(trip, charge, source="test")

    @rule()
    def operator_releases(self):
        charge_void(trip_pk=self.trip.pk, actor="test")

    @rule()
    def janitor_redrives(self):
        with transaction.atomic():
            trip, charge = trip_and_charge_for_update(trip_pk=self.trip.pk)
            charge_redrive(trip, charge, actor="test", reason="race")

    @invariant()
    def money_is_consistent(self):
        self.refresh()
        charge, trip = self.charge, self.trip
        if charge.capture_amount is not None:
            assert 0 < charge.capture_amount <= charge.approved_amount <= charge.cart_total
        captures = OutboxMessage.objects.filter(key__startswith=f"capture:{charge.pk}")
        cancels = OutboxMessage.objects.filter(key__startswith=f"cancel:{charge.pk}")
        assert {m.payload["amount"] for m in captures} <= {str(charge.capture_amount)}
        assert not (captures.exists() and cancels.exists() and charge.state != S.CANCELLING)
        if charge.state == S.CAPTURED:
            assert trip.settled_amount == charge.capture_amount
        if trip.state in TERMINAL_STATES:
            debt = Debt.objects.filter(trip=trip).first()
            owed = debt.outstanding_amount if debt else Decimal("0")
            voided = trip.state == TripState.RELEASED
            assert owed == (Decimal("0") if voided else trip.cart_total - trip.settled_amount)
        times = list(
            PaymentStatusReport.objects.filter(trip=trip)
            .order_by("sequence")
            .values_list("status_time_ms", flat=True)
        )
        assert times == sorted(set(times))
        if charge.state in ADJUST_STATES:
            assert charge.capture_amount is None

    @invariant()
    def transitions_are_chained(self):
        state = None
        for entry in audit_trail(entity="charge", entity_id=self.charge.audit_id):
            if entry.action == "opened":
                state = entry.to_state
                continue
            assert entry.from_state == state
            if entry.action == "transition":
                state = entry.to_state
        assert state == self.charge.state


@pytest.mark.django_db
def test_the_charge_state_machine_keeps_its_invariants_whatever_happens():
    """RELIABILITY: a rule-based state machine over the payment transitions."""
    with clock.override(clock.wall_now()):
        ChargeMachine.TestCase.settings = settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        )
        ChargeMachine.TestCase().runTest()


@pytest.mark.django_db(transaction=True)
def test_a_foreign_key_check_against_a_locked_trip_does_not_deadlock_with_the_charge():
    """Regression (bench, 2026-11-30): a worker recording transactional data held the charge
    (its UPDATE) and, at commit, checked the foreign key of a row it inserted against the trip,
    while event processing held the trip and waited for the charge. Trips and charges are locked
    FOR NO KEY UPDATE, which does not block a foreign-key check, so both finish."""
    import threading

    from django.db import connection

    from payments.services.receipts import charge_record_transactional_data
    from trips.locks import trip_qs_for_update
    from trips.models import TripAuthEvent

    charge = opened_charge()
    trip_held, charge_updated = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def event_processing():  # trip, then charge: the product's lock order
        try:
            with transaction.atomic():
                trip_qs_for_update().get(pk=charge.trip_id)
                trip_held.set()
                charge_updated.wait(10)
                locked = Charge.objects.get(pk=charge.pk)
                charge_transition(charge=locked, to_state=ChargeState.SEARCHING, actor="test")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def receipt_recording():  # a row pointing at the trip, then the charge's UPDATE, commit
        try:
            trip_held.wait(10)
            with transaction.atomic():
                TripAuthEvent.objects.create(
                    trip_id=charge.trip_id,
                    auth_event_id="ae-fk",
                    occurred_at=clock.now(),
                    payload_type="FINANCIAL",
                )
                charge_record_transactional_data(charge_pk=charge.pk, data={"tail": "4242"})
                charge_updated.set()
        except BaseException as error:
            errors.append(error)
        finally:
            charge_updated.set()
            connection.close()

    threads = [
        threading.Thread(target=event_processing),
        threading.Thread(target=receipt_recording),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    charge.refresh_from_db()
    assert charge.state == ChargeState.SEARCHING
    assert charge.card_tail == "4242"
