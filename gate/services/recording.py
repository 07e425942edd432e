"""Write a gate decision in ONE SQL statement: the decision log, the shopper, the trip (with its
audit entry), the trip's gate event, and asynchronous commit for that transaction; under load,
several concurrent decisions in one such statement.

Why one statement: the gate's hot path is two round trips (the balance lookup and this write).
PostgreSQL's data-modifying CTEs insert into several tables atomically; each later insert runs
only when the decision row was new, so a replayed ``gateAuthenticationEvent.id`` changes nothing
and gets the stored response back from the same statement.

Why a prepared statement with one JSON parameter: the statement is long (five inserts); parsing,
quoting ~80 parameters and planning it on every decision cost more than the insert itself. It is
prepared once per database connection (``PREPARE``) and executed with a single ``jsonb`` argument
that ``jsonb_populate_record`` turns into table rows, so each decision sends a few hundred bytes
and PostgreSQL reuses its plan.

Why ``synchronous_commit = off`` for this transaction only: the decision log must not cost a disk
flush per decision. The commit returns once the WAL record is in memory; the WAL writer flushes
it within ~3 × ``wal_writer_delay`` (600 ms by default). Only a crash of the database server in
that window can lose a just-answered decision; the cart that follows minutes later then creates
its trip itself (``trip_get_or_create`` from Create Purchases). An application crash loses
nothing that was committed.

The statement is also guarded: it writes only if the store's settings and active policy version
still have the stamp the decision was made with (``gate.policy_cache``); otherwise it writes
nothing and the caller decides again with the fresh policy.

Why several decisions per statement under load (group commit, ``gate.services.group_commit``):
alone, each decision also pays a statement, a transaction, a commit and the wake-ups of two
processes, which cost as much as its inserts. Concurrent decisions of one process are written by
``batch_statement_sql``: the same inserts over a JSON array, one result row per decision. A
decision alone (the gate is quiet, or a test) uses the single-decision statement.

Columns come from the models, so fields the models add with a default are filled in here too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from django.db import connection, models
from django.utils import timezone

from core.models import AuditEntry
from core.sql import execute_prepared
from jwo_client import wire
from trips.models import GateEvent, Shopper, ShoppingTrip

from ..connection import with_reconnect
from ..deadline import statement_deadline
from ..models import GateDecision
from ..policy_cache import STAMP_FROM, STAMP_SQL
from .group_commit import GroupWriter, PendingWrite

TRIP_CREATED_BY = "amazon:gate"
STATEMENT_NAME = "jwo_gate_record_v1"
BATCH_STATEMENT_NAME = "jwo_gate_record_batch_v1"


@dataclass(frozen=True)
class _Column:
    attname: str
    column: str
    auto_timestamp: bool  # auto_now / auto_now_add: the wall-clock time of the write
    default: object  # a callable, or the value itself
    is_datetime: bool


@dataclass(frozen=True)
class _Table:
    key: str  # the key of this table's row in the JSON argument
    model: type[models.Model]
    fields: tuple[models.Field, ...]
    columns: tuple[_Column, ...]

    def insert(self, expressions: dict[str, str], source: str = "", rows: str = "") -> str:
        """``INSERT … SELECT`` from this table's row of the argument; ``expressions`` replace
        columns computed in SQL (foreign keys to rows inserted by the same statement). ``rows``
        names the relation whose ``a`` column holds one decision's argument (a batch); without
        it the row comes from ``$1``."""
        table = self.model._meta.db_table
        names = ", ".join(field.column for field in self.fields)
        values = ", ".join(
            expressions.get(field.attname, f"r.{field.column}") for field in self.fields
        )
        if rows:
            populate = f"jsonb_populate_record(NULL::{table}, a->'{self.key}')"
            row = f"{rows} CROSS JOIN LATERAL {populate} r"
        else:
            row = f"jsonb_populate_record(NULL::{table}, $1->'{self.key}') r"
        return f"INSERT INTO {table} ({names}) SELECT {values} FROM {row}{source}"  # noqa: S608

    def row(self, values: dict, wall_now: datetime) -> dict:
        row = {}
        for column in self.columns:
            if column.attname in values:
                value = values[column.attname]
            elif column.auto_timestamp:
                value = wall_now
            else:
                value = column.default() if callable(column.default) else column.default
            if column.is_datetime and value is not None:
                value = value.isoformat()
            row[column.column] = value
        return row


def _column(field: models.Field) -> _Column:
    callable_default = field.has_default() and callable(field.default)
    return _Column(
        attname=field.attname,
        column=field.column,
        auto_timestamp=getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False),
        default=field.default if callable_default else field.get_default(),
        is_datetime=isinstance(field, models.DateTimeField),
    )


def _table(key: str, model) -> _Table:
    fields = tuple(field for field in model._meta.concrete_fields if not field.primary_key)
    return _Table(key, model, fields, tuple(_column(field) for field in fields))


@lru_cache(maxsize=1)
def _tables() -> dict[str, _Table]:
    return {
        "decision": _table("d", GateDecision),
        "shopper": _table("s", Shopper),
        "trip": _table("t", ShoppingTrip),
        "audit": _table("a", AuditEntry),
        "gate_event": _table("g", GateEvent),
    }


@lru_cache(maxsize=1)
def statement_sql() -> str:
    """The write, with ``$1`` the JSON argument (see ``decision_write``)."""
    tables = _tables()
    decision_table = GateDecision._meta.db_table
    shopper_table = Shopper._meta.db_table
    trip_table = ShoppingTrip._meta.db_table
    decided = " WHERE EXISTS (SELECT 1 FROM decision)"
    keep_first = ", ".join(
        f"{name} = COALESCE({trip_table}.{name}, EXCLUDED.{name})"
        for name in ("shopper_id", "preauth_amount", "preauth_at", "preauth_deadline", "settle_by")
    )
    shopper_id = {"shopper_id": "(SELECT id FROM shopper)"}
    # Table and column names come from the models; every value comes from the JSON argument.
    return f"""
WITH guard AS (
  SELECT ({STAMP_SQL} = $1->>'stamp' OR ($1->>'unguarded')::boolean) AS ok
  FROM {STAMP_FROM} WHERE s.id = ($1->>'store_pk')::bigint
), decision AS (
  {tables["decision"].insert({}, " WHERE (SELECT ok FROM guard)")}
  ON CONFLICT (gate_event_id) DO NOTHING RETURNING id
), shopper_new AS (
  {tables["shopper"].insert({}, decided)}
  ON CONFLICT (identity_id) DO NOTHING RETURNING id
), shopper AS (
  (SELECT id FROM shopper_new)
  UNION ALL (SELECT id FROM {shopper_table} WHERE identity_id = $1->'s'->>'identity_id') LIMIT 1
), trip AS (
  {tables["trip"].insert(shopper_id, decided)}
  ON CONFLICT (store_id, shopping_trip_id) DO UPDATE SET {keep_first},
    updated_at = EXCLUDED.updated_at
  RETURNING id, (xmax = 0) AS inserted
), audit AS (
  {tables["audit"].insert({}, ", trip WHERE trip.inserted")}
), gate_event AS (
  {tables["gate_event"].insert({**shopper_id, "trip_id": "(SELECT id FROM trip)"}, decided)}
  ON CONFLICT (gate_event_id) DO NOTHING
), commit_mode AS (
  SELECT set_config('synchronous_commit', $1->>'synchronous_commit', true) AS value
)
SELECT (SELECT id FROM decision), (SELECT ok FROM guard),
  (SELECT response::text FROM {decision_table} WHERE gate_event_id = $1->'d'->>'gate_event_id'),
  (SELECT value FROM commit_mode)
"""  # noqa: S608


@lru_cache(maxsize=1)
def batch_statement_sql() -> str:
    """The write of several decisions at once (group commit), with ``$1`` a JSON object whose
    ``items`` are the arguments ``decision_write`` sends one at a time. Same inserts, same guards,
    one row back per item, in order. The items of one batch have distinct event ids and distinct
    trips (``gate.services.group_commit`` keeps the others for the next batch)."""
    tables = _tables()
    decision_table = GateDecision._meta.db_table
    shopper_table = Shopper._meta.db_table
    trip_table = ShoppingTrip._meta.db_table
    keep_first = ", ".join(
        f"{name} = COALESCE({trip_table}.{name}, EXCLUDED.{name})"
        for name in ("shopper_id", "preauth_amount", "preauth_at", "preauth_deadline", "settle_by")
    )
    shopper_id = {
        "shopper_id": "(SELECT shopper.id FROM shopper"
        " WHERE shopper.identity_id = decided.a->'s'->>'identity_id')"
    }
    one_per_shopper = "(SELECT DISTINCT ON (a->'s'->>'identity_id') a FROM decided) d"
    trip_of_decided = (
        "decided JOIN trip ON trip.store_id = (decided.a->>'store_pk')::bigint"
        " AND trip.shopping_trip_id = decided.a->'t'->>'shopping_trip_id'"
    )
    event_id = "a->'d'->>'gate_event_id'"
    # Table and column names come from the models; every value comes from the JSON argument.
    return f"""
WITH input AS (
  SELECT item.n, item.a FROM jsonb_array_elements($1->'items') WITH ORDINALITY AS item(a, n)
), guard AS (
  SELECT input.n, ({STAMP_SQL} = input.a->>'stamp' OR (input.a->>'unguarded')::boolean) AS ok
  FROM input, {STAMP_FROM} WHERE s.id = (input.a->>'store_pk')::bigint
), decision AS (
  {tables["decision"].insert({}, " WHERE guard.ok", rows="input JOIN guard USING (n)")}
  ON CONFLICT (gate_event_id) DO NOTHING RETURNING id, gate_event_id
), decided AS (
  SELECT input.n, input.a FROM input JOIN decision ON decision.gate_event_id = input.{event_id}
), shopper_new AS (
  {tables["shopper"].insert({}, rows=one_per_shopper)}
  ON CONFLICT (identity_id) DO NOTHING RETURNING id, identity_id
), shopper AS (
  SELECT id, identity_id FROM shopper_new
  UNION ALL
  SELECT id, identity_id FROM {shopper_table}
  WHERE identity_id IN (SELECT a->'s'->>'identity_id' FROM decided)
), trip AS (
  {tables["trip"].insert(shopper_id, rows="decided")}
  ON CONFLICT (store_id, shopping_trip_id) DO UPDATE SET {keep_first},
    updated_at = EXCLUDED.updated_at
  RETURNING id, store_id, shopping_trip_id, shopper_id, (xmax = 0) AS inserted
), audit AS (
  {tables["audit"].insert({}, " WHERE trip.inserted", rows=trip_of_decided)}
), gate_event AS (
  {tables["gate_event"].insert({**shopper_id, "trip_id": "trip.id"}, rows=trip_of_decided)}
  ON CONFLICT (gate_event_id) DO NOTHING
), commit_mode AS (
  SELECT set_config('synchronous_commit', $1->>'synchronous_commit', true) AS value
)
SELECT input.n, decision.id, guard.ok,
  (SELECT response::text FROM {decision_table} old WHERE old.gate_event_id = input.{event_id}),
  (SELECT value FROM commit_mode)
FROM input LEFT JOIN guard USING (n)
  LEFT JOIN decision ON decision.gate_event_id = input.{event_id}
ORDER BY input.n
"""  # noqa: S608


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


def _argument(decision, link: TripLink, stamp, guarded, business_now, synchronous_commit) -> bytes:
    tables = _tables()
    wall_now = timezone.now()
    preauth = str(link.preauth_amount) if link.preauth_amount else ""
    return wire.dumps(
        {
            "stamp": stamp,
            "unguarded": not guarded,
            "store_pk": link.store_pk,
            "synchronous_commit": "on" if synchronous_commit else "off",
            "d": tables["decision"].row(decision, wall_now),
            "s": tables["shopper"].row(
                {"identity_id": link.identity_id, "first_seen_at": business_now}, wall_now
            ),
            "t": tables["trip"].row(
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
            ),
            "a": tables["audit"].row(
                {
                    "entity": "trip",
                    "entity_id": f"{link.store_pk}:{link.shopping_trip_id}",
                    "action": "created",
                    "to_state": link.state,
                    "actor": TRIP_CREATED_BY,
                    "context": {"preauth_amount": preauth, "gate_event_id": link.gate_event_id},
                    "business_time": business_now,
                },
                wall_now,
            ),
            "g": tables["gate_event"].row(
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
            ),
        }
    )


def _execute(cursor, argument: str, *, batch: bool = False) -> list[tuple]:
    """EXECUTE the prepared write (one decision, or a batch), preparing it first on a connection
    that has not seen it. Returns the statement's rows."""
    name, sql = (STATEMENT_NAME, statement_sql)
    if batch:
        name, sql = (BATCH_STATEMENT_NAME, batch_statement_sql)
    execute_prepared(cursor, name=name, types="jsonb", sql=sql(), params=[argument])
    return cursor.fetchall()


def decision_write(
    *,
    decision: dict,
    link: TripLink,
    stamp: str,
    guarded: bool,
    business_now: datetime,
    synchronous_commit: bool,
    budget_seconds: float,
) -> WriteResult:
    """Insert the decision and its trip link, within ``budget_seconds``, and return once it is
    committed. Concurrent decisions of this process are written together, in one statement and
    one transaction (``gate.services.group_commit``); a decision alone is written by the
    single-decision statement. Raises ``BudgetExceeded`` or ``DatabaseError`` when the write
    fails: the caller answers anyway."""
    argument = _argument(decision, link, stamp, guarded, business_now, synchronous_commit)
    write = PendingWrite(
        argument=argument.decode(),
        event_id=link.gate_event_id,
        trip_key=(link.store_pk, link.shopping_trip_id),
        deadline=time.monotonic() + budget_seconds,
        synchronous_commit=synchronous_commit,
    )
    if connection.in_atomic_block:
        # Inside the caller's transaction (never at the gate's front door): write alone, so no
        # other request's decision joins a transaction this request may still roll back.
        decision_id, guard_ok, stored, _mode = write_batch([write])[0]
    else:
        decision_id, guard_ok, stored, _mode = group_writer.write(write)
    if decision_id is not None:
        return WriteResult(written=True, stale=False, stored_response=None)
    if stored is not None:
        return WriteResult(written=False, stale=False, stored_response=stored)
    if not guard_ok:
        return WriteResult(written=False, stale=True, stored_response=None)
    # Lost a race with a concurrent insert of the same event id that our snapshot cannot see.
    with statement_deadline(max(write.deadline - time.monotonic(), 0.01)):
        stored = stored_response_get(gate_event_id=link.gate_event_id)
    return WriteResult(written=False, stale=False, stored_response=stored)


def write_batch(writes: list[PendingWrite]) -> list[tuple]:
    """Execute the writes on this thread's connection: one statement for one decision, the batch
    statement for several. One ``(decision id, guard ok, stored response, commit mode)`` per
    write, in order."""
    if len(writes) == 1:
        rows = _execute_on_connection(writes[0].argument, batch=False, deadline=writes[0].deadline)
        return [rows[0]]
    mode = "on" if writes[0].synchronous_commit else "off"
    argument = f'{{"synchronous_commit":"{mode}","items":[{",".join(w.argument for w in writes)}]}}'
    deadline = min(write.deadline for write in writes)
    rows = _execute_on_connection(argument, batch=True, deadline=deadline)
    return [tuple(row[1:]) for row in rows]


def _execute_on_connection(argument: str, *, batch: bool, deadline: float) -> list[tuple]:
    def work():
        budget = max(deadline - time.monotonic(), 0.001)
        with statement_deadline(budget), connection.cursor() as cursor:
            return _execute(cursor, argument, batch=batch)

    return with_reconnect(work)


group_writer = GroupWriter(write_batch)


def stored_response_get(*, gate_event_id: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT response::text FROM {GateDecision._meta.db_table} WHERE gate_event_id = %s",  # noqa: S608
            [gate_event_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None
