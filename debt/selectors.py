"""Reads for debts. ``shopper_standing`` is the gate's single indexed lookup."""

from decimal import Decimal
from functools import lru_cache

from django.db import connection
from django.db.models import F, QuerySet, Sum

from core.sql import execute_prepared

from .enums import PAYABLE_STATES, DebtState, NoticeKind, WriteOffStatus
from .models import Debt, DebtNotice, DebtPayment, ShopperStanding, WriteOffRequest

ZERO = Decimal("0")


STANDING_STATEMENT = "debt_shopperstanding_get_v1"


@lru_cache(maxsize=1)
def _standing_read() -> tuple[str, tuple[str, ...], tuple]:
    """The lookup's SQL (columns from the model), its field names, and per-field converters."""
    fields = ShopperStanding._meta.concrete_fields
    table = ShopperStanding._meta.db_table
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = (
        f"SELECT {columns} FROM {table} WHERE identity_id = $1 AND currency = $2"  # noqa: S608
        " ORDER BY id LIMIT 1"
    )
    converters = []  # what the ORM would apply to each column (none on PostgreSQL today)
    for field in fields:
        column = field.get_col(table)
        functions = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        converters.append((column, tuple(functions)))
    return sql, tuple(field.attname for field in fields), tuple(converters)


def _standing_row(identity_id: str, currency: str):
    """One prepared ``EXECUTE`` in autocommit (the gate); a plain query inside a transaction,
    where a statement that fails would abort the caller's transaction."""
    sql, _names, _converters = _standing_read()
    params = [identity_id, currency]
    with connection.cursor() as cursor:
        if not connection.get_autocommit() or connection.in_atomic_block:
            cursor.execute(sql.replace("$1", "%s").replace("$2", "%s"), params)
            return cursor.fetchone()
        execute_prepared(
            cursor, name=STANDING_STATEMENT, types="text, text", sql=sql, params=params
        )
        return cursor.fetchone()


def shopper_standing(*, identity_id: str, currency: str) -> ShopperStanding | None:
    """The shopper's standing in one currency, or None. The gate's hot path: a raw, prepared
    read (the ORM's query building cost five times the read itself), same row, same instance."""
    row = _standing_row(identity_id, currency)
    if row is None:
        return None
    _sql, names, converters = _standing_read()
    values = list(row)
    for index, (column, functions) in enumerate(converters):
        for converter in functions:
            values[index] = converter(values[index], column, connection)
    return ShopperStanding.from_db(connection.alias, names, values)


def debt_for_trip(*, trip) -> Debt | None:
    return Debt.objects.filter(trip=trip).first()


def payable_debts(*, identity_id: str, currency: str, include_disputed: bool = False) -> QuerySet:
    """Debts the shopper can pay, oldest first: open, and written off (still owed at Amazon,
    which keeps blocking until it hears of a payment). Disputed debts wait for the dispute's
    outcome; ``include_disputed`` lists them too (for the shopper's statement)."""
    states = set(PAYABLE_STATES)
    if include_disputed:
        states.add(DebtState.DISPUTED)
    return (
        Debt.objects.filter(shopper_identity_id=identity_id, currency=currency, state__in=states)
        .annotate(payable=F("outstanding_amount") + F("written_off_amount"))
        .filter(payable__gt=0)
        .select_related("store", "trip")
        .order_by("incurred_at", "pk")
    )


def payable_amount(*, identity_id: str, currency: str) -> Decimal:
    total = payable_debts(identity_id=identity_id, currency=currency).aggregate(
        total=Sum("payable")
    )["total"]
    return total or ZERO


def debt_payment_by_key(*, idempotency_key: str) -> DebtPayment | None:
    return DebtPayment.objects.filter(idempotency_key=idempotency_key).first()


def last_notice_at(*, identity_id: str, currency: str):
    return (
        DebtNotice.objects.filter(
            identity_id=identity_id,
            currency=currency,
            kind__in=[NoticeKind.BALANCE, NoticeKind.REMINDER],
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def pending_write_offs() -> QuerySet:
    return WriteOffRequest.objects.filter(status=WriteOffStatus.PENDING).select_related(
        "debt", "requested_by"
    )
