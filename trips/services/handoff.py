"""Hand a trip whose cart is settled on our side (priced, empty or zero) to the payment lifecycle.

Called in the same transaction that moves the trip to PRICED or EMPTY, so no priced cart is ever
forgotten: the outbox row commits with the state change, and the payments app (which registers
the handler for ``START_CHARGE``) opens the charge and makes the first call to Amazon.
"""

from core.outbox import outbox_enqueue

from ..models import ShoppingTrip

START_CHARGE = "payments.start_charge"


def trip_hand_to_payments(*, trip: ShoppingTrip):
    return outbox_enqueue(
        kind=START_CHARGE,
        key=f"start-charge:{trip.pk}",
        payload={"trip_pk": trip.pk},
        store_ref=trip.store.store_id,
        trip_ref=trip.shopping_trip_id,
    )
