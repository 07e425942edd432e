"""Reads for carts, purchases and the bad-cart queue."""

from django.db.models import Count

from core.sql import row_get
from trips.models import Shopper, Store

from .enums import BadCartStatus
from .models import BadCartCase, CartSubmission, PromotionUse, Purchase


def cart_submission_get(*, store: Store, shopping_trip_id: str) -> CartSubmission | None:
    """The stored first delivery for a key: only what a replay needs."""
    return row_get(
        CartSubmission,
        where="store_id = %s AND shopping_trip_id = %s",
        params=[store.pk, shopping_trip_id],
        fields=("cart_hash", "response_status", "response_body"),
    )


def promotion_use_counts(*, shopper: Shopper, store: Store, codes: list[str]) -> dict[str, int]:
    rows = (
        PromotionUse.objects.filter(shopper=shopper, store=store, promotion_code__in=codes)
        .values("promotion_code")
        .annotate(uses=Count("id"))
    )
    return {row["promotion_code"]: row["uses"] for row in rows}


def purchase_for_trip(*, trip) -> Purchase | None:
    return Purchase.objects.filter(trip=trip).first()


def bad_cart_open_cases():
    return (
        BadCartCase.objects.filter(status=BadCartStatus.OPEN)
        .select_related("store", "trip", "purchase")
        .order_by("settle_by")
    )
