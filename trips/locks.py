"""Row locks for trips. Lock order across the product: trip → charge → refund → debt."""

from .models import ShoppingTrip


def trip_qs_for_update():
    return ShoppingTrip.objects.select_for_update().order_by("pk")
