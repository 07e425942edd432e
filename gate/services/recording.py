"""Write a gate decision in ONE SQL statement: the decision log, the shopper, the trip (with its
audit entry), the trip's gate event, and asynchronous commit for that transaction.

Why one statement: the gate's hot path is two round trips (the balance lookup and this write).
PostgreSQL's data-modifying CTEs insert into several tables atomically; each later insert runs
only when the decision row was new, so a replayed ``gateAuthenticationEvent.id`` changes nothing
and gets the stored response back from the same statement.

Why ``synchronous_commit = off`` for this transaction only: the decision log must not cost a disk
flush per decision. The commit returns once the WAL record is in memory; the WAL writer flushes
it within ~3 × ``wal_writer_delay`` (600 ms by default). Only a crash of the database server in
that window can lose a just-answered decision; the cart that follows minutes later then creates
its trip itself (``trip_get_or_create`` from Create Purchases). An application crash loses
nothing that was committed.

The statement is also guarded: it writes only if the store's settings and active policy version
still have the stamp the decision was made with (``gate.policy_cache``); otherwise it writes
nothing and the caller decides again with the fresh policy.

Columns come from the models, so fields the models add with a default are filled in here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from django.contrib.postgres.fields import ArrayField
from django.db import connection, models
from django.utils import timezone

from core.models import AuditEntry
from jwo_client import wire
from trips.models import GateEvent, Shopper, ShoppingTrip

from ..models import GateDecision
from ..policy_cache import STAMP_FROM, STAMP_SQL

TRIP_CREATED_BY = "amazon:gate"
_TEXT_FIELDS = (models.CharField, models.TextField)


@dataclass(frozen=True)
class _Column:
    attname: str
    column: str
    param: str
    placeholder: str
    is_json: bool
    field: models.Field


def _columns(model, prefix: str, expressions: dict[str, str]) -> list[_Column]:
    columns = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        param = f"{prefix}_{field.attname}"
        if field.attname in expressions:
            placeholder = expressions[field.attname]
        elif isinstance(field, models.JSONField):
            placeholder = f"%({param})s::jsonb"
        elif isinstance(field, _TEXT_FIELDS):
            placeholder = f"%({param})s"
        elif isinstance(field, models.DecimalField):
            placeholder = f"%({param})s::numeric"
        elif isinstance(field, ArrayField):
            placeholder = f"%({param})s::text[]"
        else:
            placeholder = f"%({param})s::{field.db_type(connection)}"
        columns.append(
            _Column(
                field.attname,
                field.column,
                param,
                placeholder,
                isinstance(field, models.JSONField),
                field,
            )
        )
    return columns


def _insert(table: str, columns: list[_Column]) -> tuple[str, str]:
    names = ", ".join(column.column for column in columns)
    values = ", ".join(column.placeholder for column in columns)
    return f"INSERT INTO {table} ({names})", f"SELECT {values}"


def _params(columns: list[_Column], values: dict, wall_now: datetime, out: dict) -> None:
    for column in columns:
        if column.placeholder.startswith("(SELECT"):
            continue
        field = column.field
        if column.attname in values:
            value = values[column.attname]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = wall_now
        else:
            value = field.get_default()
        if column.is_json:
            value = wire.dumps(value).decode()
        out[column.param] = value


@lru_cache(maxsize=1)
def _statement() -> tuple[str, dict[str, list[_Column]]]:
    decision_table = GateDecision._meta.db_table
    shopper_table = Shopper._meta.db_table
    trip_table = ShoppingTrip._meta.db_table
    columns = {
        "decision": _columns(GateDecision, "d", {}),
        "shopper": _columns(Shopper, "s", {}),
        "trip": _columns(ShoppingTrip, "t", {"shopper_id": "(SELECT id FROM shopper)"}),
        "audit": _columns(AuditEntry, "a", {}),
        "gate_event": _columns(
            GateEvent,
            "g",
            {"trip_id": "(SELECT id FROM trip)", "shopper_id": "(SELECT id FROM shopper)"},
        ),
    }
    decision_insert, decision_values = _insert(decision_table, columns["decision"])
    shopper_insert, shopper_values = _insert(shopper_table, columns["shopper"])
    trip_insert, trip_values = _insert(trip_table, columns["trip"])
    audit_insert, audit_values = _insert(AuditEntry._meta.db_table, columns["audit"])
    event_insert, event_values = _insert(GateEvent._meta.db_table, columns["gate_event"])
    keep_first = ", ".join(
        f"{name} = COALESCE({trip_table}.{name}, EXCLUDED.{name})"
        for name in ("shopper_id", "preauth_amount", "preauth_at", "preauth_deadline", "settle_by")
    )
    trip_conflict = f"ON CONFLICT (store_id, shopping_trip_id) DO UPDATE SET {keep_first}"
    # Table and column names come from the models; every value is a bound parameter.
    sql = f"""
WITH guard AS (
  SELECT ({STAMP_SQL} = %(stamp)s OR %(unguarded)s) AS ok
  FROM {STAMP_FROM} WHERE s.id = %(store_pk)s
), decision AS (
  {decision_insert} {decision_values} WHERE (SELECT ok FROM guard)
  ON CONFLICT (gate_event_id) DO NOTHING RETURNING id
), shopper_new AS (
  {shopper_insert} {shopper_values} WHERE EXISTS (SELECT 1 FROM decision)
  ON CONFLICT (identity_id) DO NOTHING RETURNING id
), shopper AS (
  (SELECT id FROM shopper_new)
  UNION ALL (SELECT id FROM {shopper_table} WHERE identity_id = %(s_identity_id)s) LIMIT 1
), trip AS (
  {trip_insert} {trip_values} WHERE EXISTS (SELECT 1 FROM decision)
  {trip_conflict}, updated_at = EXCLUDED.updated_at
  RETURNING id, (xmax = 0) AS inserted
), audit AS (
  {audit_insert} {audit_values} FROM trip WHERE trip.inserted
), gate_event AS (
  {event_insert} {event_values} WHERE EXISTS (SELECT 1 FROM decision)
  ON CONFLICT (gate_event_id) DO NOTHING
), commit_mode AS (
  SELECT set_config('synchronous_commit', %(synchronous_commit)s, true) AS value
)
SELECT (SELECT id FROM decision), (SELECT ok FROM guard),
  (SELECT response::text FROM {decision_table} WHERE gate_event_id = %(d_gate_event_id)s),
  (SELECT value FROM commit_mode)
"""  # noqa: S608
    return sql, columns


@dataclass(frozen=True)
class TripLink:
    """The trip and gate event rows to create with the decision (contract §0.9 deadlines)."""

    store_pk: int
    shopping_trip_id: str
    identity_id: str
    state: str
    currency: str
    preauth_amount: Decimal | None
    preauth_at: datetime | None
    preauth_deadline: datetime | None
    settle_by: datetime | None
    gate_event_id: str
    event_type: str
    interaction_type: str
    event_time: datetime
    authorized: bool


@dataclass(frozen=True)
class WriteResult:
    written: bool  # our decision row was inserted
    stale: bool  # the stamp no longer matched: nothing written, decide again
    stored_response: str | None  # the JSON text of an earlier decision for this event id


def decision_write(
    *,
    decision: dict,
    link: TripLink,
    stamp: str,
    guarded: bool,
    business_now: datetime,
    synchronous_commit: bool,
) -> WriteResult:
    """Insert the decision and its trip link in one statement (see the module docstring)."""
    sql, columns = _statement()
    wall_now = timezone.now()
    params: dict = {
        "stamp": stamp,
        "unguarded": not guarded,
        "store_pk": link.store_pk,
        "synchronous_commit": "on" if synchronous_commit else "off",
    }
    _params(columns["decision"], decision, wall_now, params)
    _params(
        columns["shopper"],
        {"identity_id": link.identity_id, "first_seen_at": business_now},
        wall_now,
        params,
    )
    _params(
        columns["trip"],
        {
            "store_id": link.store_pk,
            "shopping_trip_id": link.shopping_trip_id,
            "state": link.state,
            "currency": link.currency,
            "preauth_amount": link.preauth_amount,
            "preauth_at": link.preauth_at,
            "preauth_deadline": link.preauth_deadline,
            "settle_by": link.settle_by,
            "state_changed_at": business_now,
        },
        wall_now,
        params,
    )
    _params(
        columns["audit"],
        {
            "entity": "trip",
            "entity_id": f"{link.store_pk}:{link.shopping_trip_id}",
            "action": "created",
            "to_state": link.state,
            "actor": TRIP_CREATED_BY,
            "context": {
                "preauth_amount": str(link.preauth_amount) if link.preauth_amount else "",
                "gate_event_id": link.gate_event_id,
            },
            "business_time": business_now,
        },
        wall_now,
        params,
    )
    _params(
        columns["gate_event"],
        {
            "gate_event_id": link.gate_event_id,
            "store_id": link.store_pk,
            "event_type": link.event_type,
            "interaction_type": link.interaction_type,
            "occurred_at": link.event_time,
            "authorized": link.authorized,
            "preauth_amount": link.preauth_amount,
            "currency": link.currency,
        },
        wall_now,
        params,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        decision_id, guard_ok, stored, _mode = cursor.fetchone()
    if decision_id is not None:
        return WriteResult(written=True, stale=False, stored_response=None)
    if stored is not None:
        return WriteResult(written=False, stale=False, stored_response=stored)
    if not guard_ok:
        return WriteResult(written=False, stale=True, stored_response=None)
    # Lost a race with a concurrent insert of the same event id that our snapshot cannot see.
    stored = stored_response_get(gate_event_id=link.gate_event_id)
    return WriteResult(written=False, stale=False, stored_response=stored)


def stored_response_get(*, gate_event_id: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT response::text FROM {GateDecision._meta.db_table} WHERE gate_event_id = %s",  # noqa: S608
            [gate_event_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None
