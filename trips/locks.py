"""Row locks for trips. Lock order across the product: trip → charge → refund → debt.

Trips and charges are locked ``FOR NO KEY UPDATE``: it excludes every other locker and writer
of the row as ``FOR UPDATE`` does, but not the ``FOR KEY SHARE`` lock that another transaction's
foreign-key check takes when it inserts a row pointing at the trip (an Amazon call record, an
audit-linked row) at its commit. With ``FOR UPDATE`` such a transaction, holding the charge,
waited on the trip while the trip's holder waited on the charge: a deadlock.
"""

from .models import ShoppingTrip


def trip_qs_for_update():
    return ShoppingTrip.objects.select_for_update(no_key=True).order_by("pk")
