"""Drive trips through the payment lifecycle against the real simulator, in this process.

The simulator runs as a subprocess (``jwo_sim.testing.RunningSimulator``) with a frozen business
clock that only tests move; our business clock follows it (``JWO_CLOCK_SOURCE``). Events come
back over real HTTP to the live test server. ``Harness.run`` plays the workers: it delivers due
outbox messages and processes stored events until nothing is left to do.
"""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal

from django.db import transaction

from core import clock
from core.outbox import outbox_deliver_due
from payments.enums import EventStatus
from payments.models import AmazonEvent, Charge
from payments.services.events import event_process
from tests import factories
from trips.enums import TripState
from trips.models import ShoppingTrip
from trips.services.handoff import trip_hand_to_payments
from trips.transitions import trip_transition

RETAILER_KEY = ("AKIDRETAILERTEST", "retailer-test-secret")
EVENT_API_KEY = "event-key-test-1"
START = "2026-05-04T15:00:00Z"
_numbers = itertools.count(1)


def process_received_events() -> int:
    count = 0
    for pk in AmazonEvent.objects.filter(status=EventStatus.RECEIVED).values_list("pk", flat=True):
        event_process(event_pk=pk)
        count += 1
    return count


class Harness:
    def __init__(self, sim, *, store, events_url: str | None):
        self.sim = sim
        self.store = store
        self.events_url = events_url

    # set-up ---------------------------------------------------------------------------------
    def shopper(self, profile: str = "APPROVE_ALL", **extra):
        identity = f"shopper-{next(_numbers):05d}-{uuid.uuid4().hex[:6]}"
        self.sim.set_shopper(identity, profile=profile, **extra)
        return factories.make_shopper(identity)

    def gate(self, shopper) -> ShoppingTrip:
        """A shopper enters: the simulator pre-authorizes; we know the trip (ENTERED)."""
        answer = self.sim.gate(self.store.store_id, shopper.identity_id)
        assert answer["shopperAuthorized"] and answer["preauthStatus"] == "APPROVED", answer
        return factories.make_trip(
            store=self.store,
            shopper=shopper,
            shopping_trip_id=answer["shoppingTripId"],
            state=TripState.ENTERED,
            preauth_at=clock.now(),
            preauth_amount=answer["preauthAmount"],
        )

    def hand_over(self, trip: ShoppingTrip, total: Decimal | str) -> ShoppingTrip:
        """What the ordering connector does: price the cart and hand it over, in one commit."""
        total = Decimal(total)
        with transaction.atomic():
            moved = trip_transition(
                trip_pk=trip.pk,
                to_state=TripState.PRICED if total > 0 else TripState.EMPTY,
                actor="test:ordering",
                updates={"cart_total": total},
            )
            trip_hand_to_payments(trip=moved)
        return moved

    def priced_trip(self, total, profile: str = "APPROVE_ALL", shopper=None, **extra):
        shopper = shopper or self.shopper(profile, **extra)
        return self.hand_over(self.gate(shopper), total)

    # driving --------------------------------------------------------------------------------
    def run(self, rounds: int = 80) -> int:
        """Play the workers until a full round finds nothing due."""
        done = 0
        for _ in range(rounds):
            self.sim.drain()
            delivered = sum(outbox_deliver_due().values())
            self.sim.drain()
            processed = process_received_events()
            done += delivered + processed
            if not delivered and not processed:
                return done
        raise AssertionError("the lifecycle did not settle")

    def advance(self, seconds: float) -> None:
        self.sim.advance(seconds)
        clock.invalidate()

    def advance_and_run(self, seconds: float) -> int:
        self.advance(seconds)
        return self.run()

    # reading --------------------------------------------------------------------------------
    def sim_trip(self, trip: ShoppingTrip) -> dict:
        return self.sim.trip(trip.shopping_trip_id)

    def sim_calls(self, trip: ShoppingTrip, path: str) -> list[dict]:
        history = self.sim_trip(trip)["history"]
        return [entry for entry in history if entry["kind"] == "call" and entry["path"] == path]

    @staticmethod
    def fresh(trip: ShoppingTrip) -> tuple[ShoppingTrip, Charge | None]:
        trip = ShoppingTrip.objects.get(pk=trip.pk)
        return trip, Charge.objects.filter(trip=trip).first()
