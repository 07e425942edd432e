"""Reads for trips, stores and shoppers."""

from core.audit import audit_trail
from core.sql import row_get

from .models import ShoppingTrip, Store


def store_get(*, store_id: str) -> Store | None:
    return row_get(Store, where="store_id = %s", params=[store_id])


def trip_get(*, store_id: str, shopping_trip_id: str) -> ShoppingTrip | None:
    return (
        ShoppingTrip.objects.select_related("store", "shopper")
        .filter(store__store_id=store_id, shopping_trip_id=shopping_trip_id)
        .first()
    )


def trip_audit_trail(*, trip: ShoppingTrip):
    return audit_trail(entity="trip", entity_id=trip.audit_id)
