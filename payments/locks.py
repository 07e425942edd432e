"""Row locks for charges. Lock order across the product: trip → charge → refund → debt."""

from trips.models import ShoppingTrip

from .models import Charge


def trip_and_charge_for_update(*, trip_pk: int) -> tuple[ShoppingTrip, Charge | None]:
    """Lock the trip, then its charge (if any), inside the caller's transaction.

    Only the trip's own row is locked (``of=("self",)``): its store and shopper are read, not
    locked, so trips of one store never queue behind each other.
    """
    trip = (
        ShoppingTrip.objects.select_for_update(of=("self",))
        .select_related("store", "shopper")
        .get(pk=trip_pk)
    )
    charge = Charge.objects.select_for_update().filter(trip_id=trip_pk).first()
    if charge is not None:
        charge.row_locked = True  # charge_transition need not lock it again
    return trip, charge


def charge_trip_pk(*, charge_pk: int) -> int:
    return Charge.objects.values_list("trip_id", flat=True).get(pk=charge_pk)
