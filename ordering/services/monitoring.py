"""Alerts for carts that are not priced in time (contract §0.9: trips not priced in time SHOULD
raise an alert): a cart waiting in the bad-cart queue, or a trip whose cart never arrived."""

from datetime import timedelta

from django.conf import settings

from core import clock
from core.alerts import alert_raise
from core.models import Alert
from trips.enums import TripState
from trips.models import ShoppingTrip

from ..enums import BadCartStatus
from ..models import BadCartCase


def cart_unpriced_sweep(*, limit: int = 500) -> dict[str, int]:
    now = clock.now()
    waiting_since = now - timedelta(minutes=settings.JWO_CART_UNPRICED_ALERT_MINUTES)
    cases = list(
        BadCartCase.objects.filter(
            status=BadCartStatus.OPEN, unpriced_alert_at__isnull=True, opened_at__lte=waiting_since
        )
        .select_related("store", "purchase", "trip")
        .order_by("opened_at")[:limit]
    )
    for case in cases:
        alert_raise(
            key=f"cart-unpriced:{case.trip_id}",
            kind="cart_unpriced",
            message=(
                f"cart {case.purchase.purchase_id} has waited in the bad-cart queue since "
                f"{case.opened_at:%Y-%m-%d %H:%M} UTC; it settles by policy at "
                f"{case.settle_by:%Y-%m-%d %H:%M} UTC"
            ),
            context={"purchase_id": case.purchase.purchase_id, "store": case.store.store_id},
        )
        case.unpriced_alert_at = now
        case.save(update_fields=["unpriced_alert_at"])
    missing_since = now - timedelta(minutes=settings.JWO_CART_MISSING_ALERT_MINUTES)
    trips = list(
        ShoppingTrip.objects.filter(state=TripState.ENTERED, state_changed_at__lte=missing_since)
        .select_related("store")
        .order_by("state_changed_at")[:limit]
    )
    keys = {trip.pk: f"cart-missing:{trip.pk}" for trip in trips}
    alerted = set(Alert.objects.filter(key__in=keys.values()).values_list("key", flat=True))
    raised = 0
    for trip in trips:
        if keys[trip.pk] in alerted:
            continue
        alert_raise(
            key=keys[trip.pk],
            kind="cart_missing",
            message=(
                f"no cart received for trip {trip.shopping_trip_id} since "
                f"{trip.state_changed_at:%Y-%m-%d %H:%M} UTC"
            ),
            context={"trip": trip.shopping_trip_id, "store": trip.store.store_id},
        )
        raised += 1
    return {"bad_carts": len(cases), "missing_carts": raised}
