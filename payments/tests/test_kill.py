"""Kill tests: a real worker killed mid-call, the whole worker killed, the enqueue failing after
commit. Every trip still reaches a terminal state, and Amazon's books equal ours to the cent."""

import time
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.conf import settings

from core.models import OutboxMessage, OutboxStatus
from payments.models import Charge
from trips.services.handoff import START_CHARGE

from .books import assert_books_match, stuck, wait_until_terminal
from .processes import CeleryWorker

pytestmark = pytest.mark.slow

HOLD_MS = 3000


def wait_for(predicate, seconds: float = 30, step: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def capture_held_by_simulator(harness, trip) -> bool:
    """Our capture is in flight and the simulator has done it and holds the answer."""
    charge = Charge.objects.filter(trip=trip).first()
    if charge is None:
        return False
    message = OutboxMessage.objects.filter(key=f"capture:{charge.pk}").first()
    if message is None or message.status != OutboxStatus.IN_FLIGHT:
        return False
    return harness.sim_trip(trip)["state"] == "CAPTURED"


@contextmanager
def broker_unreachable():
    """This process publishes to a broker that refuses connections (Redis down)."""
    from kombu import pools

    from jwo_store.celery import app

    def forget_connections():
        pools.reset()  # close and forget every pooled broker connection and producer
        app._pool = None
        app.amqp._producer_pool = None

    saved = app.conf.get("broker_write_url")
    forget_connections()
    app.conf.broker_write_url = "redis://127.0.0.1:9/0"  # producers only; nothing listens there
    try:
        yield
    finally:
        forget_connections()
        app.conf.broker_write_url = saved


def test_killed_workers_and_a_failed_enqueue_lose_nothing(harness, tmp_path):
    """RELIABILITY kill tests: (1) SIGKILL the pool child while the simulator holds the capture
    answer; (2) SIGKILL the whole worker in the same spot, start another; (3) the enqueue fails
    after commit (broker unreachable). After the lease expires on the business clock the sweep
    re-opens and re-delivers; each capture happened once on Amazon's side."""
    harness.sim.faults({"/v1/capture/charge": {"delayMs": HOLD_MS}})
    lease = settings.PAYMENTS_LEASE_SECONDS
    first = CeleryWorker(harness.sim, tmp_path, name="k1", concurrency=1).start()
    second = None
    try:
        # 1. the pool child dies between Amazon's capture and our database write
        trip_one = harness.priced_trip("21.00")
        assert wait_for(lambda: capture_held_by_simulator(harness, trip_one))
        first.kill_pool_child()
        assert wait_for(lambda: len(first.pool_children()) == 1)  # the pool replaced it
        harness.advance(lease + 1)
        assert wait_until_terminal(harness, [trip_one], seconds=40), stuck([trip_one])

        # 2. the whole worker dies at the same point; another one takes over
        trip_two = harness.priced_trip("22.00")
        assert wait_for(lambda: capture_held_by_simulator(harness, trip_two))
        first.kill()
        second = CeleryWorker(harness.sim, tmp_path, name="k2", concurrency=1).start()
        harness.advance(lease + 1)
        assert wait_until_terminal(harness, [trip_two], seconds=40), stuck([trip_two])

        # 3. the commit succeeds but the enqueue after it fails
        with broker_unreachable():
            trip_three = harness.priced_trip("23.00")
        start = OutboxMessage.objects.get(kind=START_CHARGE, trip_ref=trip_three.shopping_trip_id)
        time.sleep(1)
        start.refresh_from_db()
        assert (start.status, start.attempts) == (OutboxStatus.PENDING, 0)
        assert wait_until_terminal(harness, [trip_three], seconds=40), stuck([trip_three])
    finally:
        first.stop()
        if second is not None:
            second.stop()

    trips = [trip_one, trip_two, trip_three]
    outcomes = assert_books_match(harness, trips)
    assert outcomes == {"CAPTURED": 3}
    for trip in trips:
        remote_captures = [
            call for call in harness.sim_calls(trip, "/v1/capture/charge") if call["status"] == 200
        ]
        assert {call["request"]["amount"]["amount"] for call in remote_captures} == {
            Charge.objects.get(trip=trip).capture_amount
        }
    for trip in trips[:2]:
        # The killed attempt's message was re-opened after its lease and delivered again: either
        # it asked Amazon again (identical body) or the CaptureApproved event had already settled
        # the charge and the stale call was not sent. Never a second capture.
        charge = Charge.objects.get(trip=trip)
        assert OutboxMessage.objects.get(key=f"capture:{charge.pk}").attempts >= 2
        assert len(harness.sim_calls(trip, "/v1/capture/charge")) <= 2
    assert Decimal(harness.sim_trip(trip_three)["capture"]["amount"]) == Decimal("23.00")
