"""Retries that respect Amazon: the shared 429 pause, the circuit breaker, the rate limit."""

from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.conf import settings as django_settings

from core import clock
from payments.amazon import endpoint_guard, reset_process_state
from payments.enums import CallOutcome, ChargeState
from payments.guard import EndpointGuard, RateLimit
from payments.models import AmazonCall
from trips.enums import TripState

ADJUST = "/v1/adjust/charge"


def adjust_calls():
    return AmazonCall.objects.filter(operation="adjust").order_by("id")


def test_a_429_pauses_the_endpoint_for_every_trip_until_retry_after_has_passed(harness):
    """ADJ-9, R-429 with strict429: after one 429 (Retry-After 600) no adjust is sent for any
    trip for 600 s of the business clock; then all proceed. The simulator counts no early call."""
    harness.sim.faults(strict429=True, script=[{"path": ADJUST, "status": 429}])
    trips = [harness.priced_trip(f"{amount}.00") for amount in (11, 12, 13)]

    harness.run()
    assert [call.http_status for call in adjust_calls()] == [429]
    harness.advance_and_run(599)
    assert adjust_calls().count() == 1

    harness.advance_and_run(2)

    assert [call.http_status for call in adjust_calls()] == [429, 200, 200, 200]
    assert all(harness.fresh(trip)[0].state == TripState.SETTLED for trip in trips)
    stats = harness.sim.control("GET", "/faults")["stats"]
    assert stats["earlyCalls"] == {}


def test_a_429_on_capture_pauses_captures_only(harness):
    """CAP-13, CAN-10: the pause is per endpoint; other endpoints keep working."""
    harness.sim.faults(strict429=True, script=[{"path": "/v1/capture/charge", "status": 429}])
    first = harness.priced_trip("5.00")
    harness.run()
    second = harness.priced_trip("6.00")

    harness.run()

    assert harness.fresh(first)[1].state == ChargeState.CAPTURING
    assert harness.fresh(second)[1].state == ChargeState.CAPTURING  # adjusted, capture waits
    assert endpoint_guard().paused_until("capture") is not None
    assert endpoint_guard().paused_until("adjust") is None
    harness.advance_and_run(601)
    assert harness.fresh(second)[0].state == TripState.SETTLED


def test_the_circuit_breaker_opens_stops_calling_and_recovers_by_itself(harness, settings):
    """ADJ-10 sustained: after 3 failures in a row the adjust endpoint is open: nothing is sent;
    after the cooldown one probe goes out; a failed probe re-opens it for longer; once Amazon
    recovers the probe closes it and every trip settles."""
    settings.PAYMENTS_BREAKER_THRESHOLD = 3
    settings.PAYMENTS_BREAKER_COOLDOWN_SECONDS = 30
    reset_process_state()
    harness.sim.faults({ADJUST: {"p500": 1.0}})
    trips = [harness.priced_trip(f"2{n}.00") for n in range(5)]

    harness.run()
    for _ in range(4):
        harness.advance_and_run(5)
    assert adjust_calls().count() == 3
    assert endpoint_guard().breaker_state("adjust")["failures"] == "3"

    harness.advance_and_run(15)  # cooldown over: exactly one probe, which fails
    assert adjust_calls().count() == 4
    harness.advance_and_run(30)  # re-opened for 60 s now
    assert adjust_calls().count() == 4

    harness.sim.faults({})
    harness.advance_and_run(31)
    harness.advance_and_run(60)

    assert all(harness.fresh(trip)[0].state == TripState.SETTLED for trip in trips)
    assert endpoint_guard().breaker_state("adjust") == {}
    skipped = [call for call in adjust_calls() if call.outcome != CallOutcome.OK]
    assert all(call.http_status == 500 for call in skipped)


def test_the_rate_limit_is_shared_by_every_worker():
    """Two workers (two guards) share one token bucket per endpoint in Redis."""
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    prefix = "jwo:payments-test-rate:"
    limits = {"capture": RateLimit(per_second=5, burst=5)}
    worker_a = EndpointGuard(client, prefix=prefix, rate_limits=limits)
    worker_b = EndpointGuard(client, prefix=prefix, rate_limits=limits)
    worker_a.clear()
    now = clock.wall_now()

    verdicts = [(worker_a if n % 2 else worker_b).acquire("capture", now=now) for n in range(8)]

    assert [verdict.allowed for verdict in verdicts] == [True] * 5 + [False] * 3
    assert {verdict.reason for verdict in verdicts[5:]} == {"rate"}
    assert 0 < verdicts[-1].wait_seconds <= 0.2 + 1e-6
    assert worker_b.acquire("adjust", now=now).allowed  # other endpoints have their own bucket
    worker_a.clear()


def test_the_rate_limit_smooths_a_batch_of_carts(harness, settings):
    """A batch after closing time: 6 carts, adjust limited to 2/s: the calls are spread out
    rather than refused by Amazon."""
    settings.PAYMENTS_RATE_LIMITS = ["adjust=2:2"]
    reset_process_state()
    trips = [harness.priced_trip(f"1{n}.00") for n in range(6)]

    harness.run()
    for _ in range(6):
        harness.advance_and_run(1)

    assert all(harness.fresh(trip)[0].state == TripState.SETTLED for trip in trips)
    sent = list(adjust_calls().values_list("recorded_at", flat=True))
    assert len(sent) == 6
    assert sent[-1] - sent[0] >= timedelta(seconds=1.5)


@pytest.mark.parametrize("phase", ["before", "after"])
def test_a_500_on_adjust_is_retried_with_the_identical_body(harness, phase):
    """ADJ-10 (R-500): backoff, then the identical body; with phase after the stored result."""
    harness.sim.faults(script=[{"path": ADJUST, "status": 500, "phase": phase}])
    trip = harness.priced_trip("19.99")

    harness.run()
    harness.advance_and_run(1)

    calls = list(adjust_calls())
    assert [call.http_status for call in calls] == [500, 200]
    assert calls[0].request == calls[1].request
    assert harness.fresh(trip)[1].capture_amount == Decimal("19.99")


def test_a_503_on_adjust_waits_retry_after(harness):
    """ADJ-11 (R-503)."""
    harness.sim.faults(script=[{"path": ADJUST, "status": 503}])
    trip = harness.priced_trip("4.00")

    harness.run()
    harness.advance_and_run(29)
    assert adjust_calls().count() == 1
    harness.advance_and_run(2)

    assert harness.fresh(trip)[0].state == TripState.SETTLED
