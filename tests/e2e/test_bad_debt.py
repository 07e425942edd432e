"""Bad debt end to end, every root cause to every way out (AE-7.13, AE-7.14, AE-7.16).

It lives here, not in ``debt/tests``, because it drives the payment lifecycle (issue 5) with its
test harness, and the debt app must never import payments (import contract).

Amazon's side is the simulator subprocess; its gate asks our Shopper Authorization connector
(the live test server) and sends its payment events there. The payment lifecycle (issue 5) turns
each simulated failure into a debt with its root cause and reports it; our gate (issue 6) then
denies the shopper's next entry on our own books; the debt is paid off, found not owed, or
written off; the reports reach the simulator's balance book, and the next entry is decided again.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.conf import settings as django_settings
from django.db import transaction
from django.test import override_settings

from core import clock
from core.models import OutboxMessage, OutboxStatus
from core.outbox import outbox_deliver
from debt.enums import DebtRootCause, DebtState, DisputeSource, PaymentMethod, WriteOffReason
from debt.metrics import Period, time_to_first_denial
from debt.models import Debt
from debt.selectors import shopper_standing
from debt.services.disputes import dispute_open, dispute_resolve
from debt.services.recovery import debt_payoff
from debt.services.write_offs import write_off_approve, write_off_request
from debt.tests.helpers import make_staff
from gate import policy_cache
from jwo_sim.testing import (
    DEFAULT_RETAILER_KEYS,
    DEFAULT_SIGNING_KEY,
    RunningSimulator,
)
from payments.amazon import endpoint_guard, reset_process_state
from payments.tests.harness import EVENT_API_KEY, START, Harness
from tests.factories import make_store
from trips.enums import DeclineStrategy, TripState
from trips.models import GateEvent, ShoppingTrip
from trips.services.handoff import trip_hand_to_payments
from trips.transitions import trip_transition

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    with RunningSimulator(tmpdir=tmp_path_factory.mktemp("bad-debt-sim"), seed=13) as running:
        yield running


@pytest.fixture
def sim(simulator, settings, monkeypatch):
    simulator.reset()
    key_id, secret = next(iter(DEFAULT_RETAILER_KEYS.items()))
    settings.JWO_PAYMENT_BASE_URL = simulator.base_url
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return simulator


@pytest.fixture
def world(sim, live_server, settings):
    """The simulator (frozen clock we follow) wired to our live server for the gate and events."""
    sim.set_clock(START, mode="frozen")
    settings.JWO_CLOCK_SOURCE = f"{sim.base_url}/_sim/v1/clock"
    settings.JWO_INBOUND_KEYS = {**settings.JWO_INBOUND_KEYS, **dict([DEFAULT_SIGNING_KEY])}
    clock.invalidate()
    reset_process_state()
    endpoint_guard().clear()
    policy_cache.clear()
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()
    store = make_store(decline_strategy=DeclineStrategy.WRITE_OFF_ALL)
    sim.set_store(
        store.store_id,
        faMode="AMAZON_RECOMMENDATION",
        retailerBaseUrl=live_server.url,
        eventEndpointUrl=f"{live_server.url}/v1/events/jwo",
        eventApiKey=EVENT_API_KEY,
        currency=store.currency,
        preauthAmount=store.preauth_amount,
        preauthWindowHours=store.preauth_window_hours,
    )
    yield Harness(sim, store=store, events_url=f"{live_server.url}/v1/events/jwo")
    # Stop the simulator calling our server (event retries, delayed outcomes) before the test
    # database is flushed: a late delivery would race the flush.
    sim.faults({})
    sim.drain()
    sim.reset()
    reset_process_state()
    clock.invalidate()
    policy_cache.clear()


def enter(world, shopper) -> tuple[dict, ShoppingTrip | None]:
    """A gate event at the simulator: it asks our connector, and opens the trip if allowed."""
    answer = world.sim.gate(world.store.store_id, shopper.identity_id)
    trip = ShoppingTrip.objects.filter(
        store=world.store, shopping_trip_id=answer["shoppingTripId"]
    ).first()
    return answer, trip


# How each root cause happens at Amazon's side: (card profile, cart total, what to do, debt).
def _declined(world, trip):
    world.hand_over(trip, "99.99")
    world.run()


def _partial(world, trip):
    # The card had 60.00 at the gate (pre-auth 50.00); only 15.00 is left at the exit.
    world.sim.set_shopper(trip.shopper.identity_id, profile="PARTIAL", available=Decimal("15.00"))
    world.hand_over(trip, "23.47")
    world.run()


def _capture_declined(world, trip):
    world.hand_over(trip, "42.00")
    world.run()


def _capture_failed(world, trip):
    # Play the workers up to the moment the capture is queued (the adjust approved 70.00), one
    # call per delivery (no chaining of the capture behind the adjust) ...
    with override_settings(PAYMENTS_CHAIN_CALLS=False):
        world.hand_over(trip, "70.00")
        for _ in range(10):
            due = OutboxMessage.objects.filter(
                status=OutboxStatus.PENDING, next_attempt_at__lte=clock.now()
            ).order_by("pk")
            if due.filter(kind="payments.capture").exists():
                break
            for pk in due.values_list("pk", flat=True):
                outbox_deliver(message_id=pk)
        else:
            raise AssertionError("the capture was never queued")
    # ... then another adjust replaces the approval with a decline: the capture is refused.
    world.sim.call(
        "/v1/adjust/charge",
        {
            "storeId": world.store.store_id,
            "shoppingTripId": trip.shopping_trip_id,
            "amount": {"amount": Decimal("90.00"), "code": "USD"},
        },
    )
    world.run()


def _expired(world, trip):
    # Priced, but never handed over for settlement before the pre-auth window closed.
    trip_transition(
        trip_pk=trip.pk,
        to_state=TripState.PRICED,
        actor="test:ordering",
        updates={"cart_total": Decimal("31.00")},
    )
    world.advance_and_run(trip.store.preauth_window_hours * 3600 + 60)


def _system_error(world, trip):
    # A bad cart the store's policy cancels: the identified total goes unpaid.
    with transaction.atomic():
        moved = trip_transition(
            trip_pk=trip.pk,
            to_state=TripState.EMPTY,
            actor="test:ordering",
            updates={"cart_total": Decimal("12.00")},
        )
        trip_hand_to_payments(trip=moved)
    world.run()


CAUSES = {
    DebtRootCause.DECLINED_ADJUSTMENT: (
        {"profile": "DECLINE_OVER_LIMIT", "limit": Decimal("60.00")},
        _declined,
        Decimal("99.99"),
    ),
    DebtRootCause.PARTIAL_CAPTURE: (
        {"profile": "PARTIAL", "available": Decimal("60.00")},
        _partial,
        Decimal("8.47"),
    ),
    DebtRootCause.CAPTURE_DECLINED: (
        {"profile": "APPROVE_ALL", "declineCapture": True},
        _capture_declined,
        Decimal("42.00"),
    ),
    DebtRootCause.CAPTURE_FAILED: (
        {"profile": "DECLINE_OVER_LIMIT", "limit": Decimal("80.00")},
        _capture_failed,
        Decimal("70.00"),
    ),
    DebtRootCause.PREAUTH_EXPIRED: ({"profile": "APPROVE_ALL"}, _expired, Decimal("31.00")),
    DebtRootCause.SYSTEM_ERROR: ({"profile": "APPROVE_ALL"}, _system_error, Decimal("12.00")),
}


def incur(world, root_cause) -> tuple:
    """A shopper enters (allowed), and the trip ends in a debt with ``root_cause``."""
    profile, act, owed = CAUSES[root_cause]
    shopper = world.shopper(**profile)
    answer, trip = enter(world, shopper)
    assert answer["shopperAuthorized"] and answer["decisionSource"] == "RETAILER", answer
    act(world, trip)
    debt = Debt.objects.get(trip=trip)
    assert (debt.root_cause, debt.outstanding_amount) == (root_cause, owed)
    assert world.sim.balances(shopper.identity_id) == [{"code": "USD", "amount": owed, "trips": 1}]
    return shopper, debt


def assert_denied(world, shopper):
    answer, _trip = enter(world, shopper)
    assert answer["shopperAuthorized"] is False, answer
    assert answer["decisionSource"] == "RETAILER"
    decision = world.sim.trip(answer["shoppingTripId"])["gate"]
    assert decision["recommendation"]["shopperRisks"][:1] == ["BadDebt"]


def assert_allowed(world, shopper):
    answer, _trip = enter(world, shopper)
    assert answer["shopperAuthorized"] is True, answer
    assert answer["decisionSource"] == "RETAILER"


ROOT_CAUSES = list(CAUSES)


@pytest.mark.parametrize("root_cause", ROOT_CAUSES)
def test_shortfall_denies_entry_until_paid_off_and_the_report_clears_amazons_book(
    world, root_cause
):
    """AE-7.13 (declined adjustment), AE-7.16: debt → next entry denied → payoff reported
    total/total → the simulator's book is clear and the next entry is allowed."""
    shopper, debt = incur(world, root_cause)
    assert_denied(world, shopper)

    debt_payoff(
        identity_id=shopper.identity_id,
        currency="USD",
        amount=debt.outstanding_amount,
        method=PaymentMethod.STAFF_PHONE,
        idempotency_key=f"phone-{debt.pk}",
        actor="user:1:clerk",
    )
    world.run()

    debt.refresh_from_db()
    assert debt.state == DebtState.RECOVERED
    assert world.sim.balances(shopper.identity_id) == []
    assert Debt.objects.get(pk=debt.pk).trip.state == TripState.SETTLED
    assert_allowed(world, shopper)


@pytest.mark.parametrize("root_cause", ROOT_CAUSES)
def test_upheld_dispute_lets_the_shopper_in_and_clears_amazons_book(world, root_cause):
    shopper, debt = incur(world, root_cause)
    dispute = dispute_open(debt_id=debt.pk, source=DisputeSource.SHOPPER, opened_by="shopper")
    assert_denied(world, shopper)  # the block stays while the dispute is open (policy default)

    dispute_resolve(
        dispute_id=dispute.pk, upheld=True, reason="ITEMS_NOT_TAKEN", actor="user:2:finance"
    )
    world.run()

    assert Debt.objects.get(pk=debt.pk).state == DebtState.REVERSED
    assert world.sim.balances(shopper.identity_id) == []
    assert_allowed(world, shopper)


@pytest.mark.parametrize("root_cause", ROOT_CAUSES)
def test_written_off_debt_keeps_the_shopper_out_here_and_at_amazon_until_paid(world, root_cause):
    """AE-7.16: a write-off sends no report; the shopper stays blocked; paying later clears."""
    shopper, debt = incur(world, root_cause)
    request = write_off_request(
        debt_id=debt.pk,
        amount=None,
        reason_code=WriteOffReason.UNCOLLECTABLE,
        requested_by=make_staff(f"maker-{debt.pk}", "Finance"),
    )
    write_off_approve(request_id=request.pk, approver=make_staff(f"checker-{debt.pk}", "Finance"))
    world.run()

    owed = debt.outstanding_amount
    assert world.sim.balances(shopper.identity_id)[0]["amount"] == owed
    assert_denied(world, shopper)

    debt_payoff(
        identity_id=shopper.identity_id,
        currency="USD",
        amount=owed,
        method=PaymentMethod.PORTAL_STRIPE,
        idempotency_key=f"stripe-{debt.pk}",
        actor="portal",
    )
    world.run()
    assert world.sim.balances(shopper.identity_id) == []
    assert_allowed(world, shopper)


def test_time_from_debt_to_first_denial_is_measured(world):
    shopper, _debt = incur(world, DebtRootCause.DECLINED_ADJUSTMENT)
    world.advance(600)
    assert_denied(world, shopper)

    wall = clock.wall_now()  # trips are grouped by when we created them
    rows = time_to_first_denial(Period(start=wall - timedelta(days=1), end=wall + timedelta(1)))

    assert rows == [
        {
            "currency": "USD",
            "debts": 1,
            "not_yet_denied": 0,
            "count": 1,
            "mean_hours": rows[0]["mean_hours"],
            "median_hours": rows[0]["median_hours"],
        }
    ]
    assert 0.16 <= rows[0]["median_hours"] <= 0.2  # ten minutes of business time
    assert GateEvent.objects.filter(shopper__identity_id=shopper.identity_id, authorized=False)
    assert shopper_standing(identity_id=shopper.identity_id, currency="USD").blocks_entry
