"""Row locks for charges. Lock order across the product: trip → charge → refund → debt.

The two locks of every payments service are plain SQL with cached text (the ORM compiled the
joined ``select_for_update`` anew on every call, its most expensive statement here); they
return ordinary model instances.
"""

from functools import cache

from django.db import connection

from core.sql import instance_from_row, select_list
from trips.models import Shopper, ShoppingTrip, Store

from .models import Charge

_TRIP_PARTS = ((ShoppingTrip, "t"), (Store, "s"), (Shopper, "p"))


@cache
def _trip_sql() -> str:
    columns = ", ".join(select_list(model, alias) for model, alias in _TRIP_PARTS)
    return (
        f"SELECT {columns} FROM {ShoppingTrip._meta.db_table} t "  # noqa: S608 - model metadata
        f"JOIN {Store._meta.db_table} s ON s.id = t.store_id "
        f"LEFT JOIN {Shopper._meta.db_table} p ON p.id = t.shopper_id "
        "WHERE t.id = %s FOR NO KEY UPDATE OF t"
    )


@cache
def _charge_sql() -> str:
    table = Charge._meta.db_table
    return f"SELECT {select_list(Charge)} FROM {table} WHERE trip_id = %s FOR NO KEY UPDATE"  # noqa: S608


def trip_and_charge_for_update(*, trip_pk: int) -> tuple[ShoppingTrip, Charge | None]:
    """Lock the trip, then its charge (if any), inside the caller's transaction.

    Only the trip's own row is locked (``FOR UPDATE OF t``): its store and shopper are read, not
    locked, so trips of one store never queue behind each other. The charge is marked as locked
    in this transaction, so ``charge_transition`` need not lock it again.
    """
    with connection.cursor() as cursor:
        cursor.execute(_trip_sql(), [trip_pk])
        row = cursor.fetchone()
        if row is None:
            raise ShoppingTrip.DoesNotExist(f"trip {trip_pk}")
        trip, at = instance_from_row(ShoppingTrip, row, 0)
        store, at = instance_from_row(Store, row, at)
        ShoppingTrip.store.field.set_cached_value(trip, store)
        if trip.shopper_id is not None:
            shopper, _ = instance_from_row(Shopper, row, at)
            ShoppingTrip.shopper.field.set_cached_value(trip, shopper)
        cursor.execute(_charge_sql(), [trip_pk])
        row = cursor.fetchone()
    charge = None
    if row is not None:
        charge, _ = instance_from_row(Charge, row, 0)
        charge.row_locked = lock_token()
    return trip, charge


def lock_token() -> tuple | None:
    """Identifies where a row lock is held: this transaction (its outermost ``atomic`` block and
    its list of commit hooks, which Django replaces when a transaction ends) and the savepoints
    open when it was taken (a rolled-back savepoint releases the locks taken inside it)."""
    if not connection.in_atomic_block or not connection.atomic_blocks:
        return None
    return (connection.atomic_blocks[0], connection.run_on_commit, tuple(connection.savepoint_ids))


def lock_held(token: tuple | None) -> bool:
    """True while the lock identified by ``token`` is certainly still held."""
    if token is None or not connection.in_atomic_block or not connection.atomic_blocks:
        return False
    outer, hooks, savepoints = token
    return (
        outer is connection.atomic_blocks[0]
        and hooks is connection.run_on_commit
        and list(savepoints) == connection.savepoint_ids[: len(savepoints)]
    )


def charge_trip_pk(*, charge_pk: int) -> int:
    return Charge.objects.values_list("trip_id", flat=True).get(pk=charge_pk)
