"""Lean SQL for the connectors' hot paths, with model instances in and out.

The ORM compiles every query anew: 0.4–0.7 ms of CPU for a one-row read or insert, against
0.1 ms for the same statement through a cursor (measured, ``bench/README.md``). These helpers
cache the SQL text per model and shape and build instances with ``Model.from_db``, so callers
get ordinary model instances (``save()``, relations and admin work as usual).

They do what the ORM's insert and update do for a field (``pre_save`` for ``auto_now``,
``get_db_prep_save`` for the adaptation) but send no model signals: use them only for models
with no signal receivers (the product has none). Conditions are written in SQL with column
names, always with parameters, never with values formatted into the text.
"""

from __future__ import annotations

import weakref
from functools import cache

from django.db import ProgrammingError, connection, models


@cache
def _columns(model: type[models.Model], fields: tuple[str, ...] | None) -> tuple[list, str]:
    concrete = model._meta.concrete_fields
    chosen = [f for f in concrete if fields is None or f.attname in fields or f.primary_key]
    quoted = ", ".join(connection.ops.quote_name(f.column) for f in chosen)
    return [f.attname for f in chosen], quoted


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def rows_get(
    model: type[models.Model],
    *,
    where: str,
    params: list | tuple = (),
    fields: tuple[str, ...] | None = None,
    for_update: bool = False,
    no_key: bool = False,
    limit: int | None = None,
) -> list[models.Model]:
    """Instances of ``model`` matching ``where`` (SQL after WHERE, may end with ORDER BY).

    ``for_update`` locks the rows; with ``no_key`` the lock is ``FOR NO KEY UPDATE`` (as
    Django's ``select_for_update(no_key=True)``), which does not block other transactions'
    foreign-key checks against the row."""
    names, quoted = _columns(model, fields)
    sql = f"SELECT {quoted} FROM {_table(model)} WHERE {where}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if for_update:
        sql += " FOR NO KEY UPDATE" if no_key else " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = _converters(model, tuple(names))
    return [model.from_db(connection.alias, names, _convert(row, converters)) for row in rows]


def row_get(model: type[models.Model], **kwargs) -> models.Model | None:
    """The first instance matching, or ``None`` (see ``rows_get``)."""
    rows = rows_get(model, limit=1, **kwargs)
    return rows[0] if rows else None


@cache
def _converters(model: type[models.Model], names: tuple[str, ...]) -> tuple:
    """Per column, the converters the ORM applies to database values (backend, then field)."""
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    converters = []
    for index, name in enumerate(names):
        column = by_attname[name].get_col(model._meta.db_table)
        steps = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if steps:
            converters.append((index, column, tuple(steps)))
    return tuple(converters)


def _convert(row, converters) -> list:
    values = list(row)
    for index, column, steps in converters:
        value = values[index]
        for step in steps:
            value = step(value, column, connection)
        values[index] = value
    return values


def select_list(model: type[models.Model], alias: str | None = None) -> str:
    """The quoted columns of every concrete field, in ``instance_from_row`` order; with
    ``alias``, qualified (for joins: several models' columns in one row)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(
        prefix + connection.ops.quote_name(f.column) for f in model._meta.concrete_fields
    )


def instance_from_row(model: type[models.Model], row, start: int = 0) -> tuple[models.Model, int]:
    """The instance whose ``select_list`` columns begin at ``row[start]``, and the index after
    them (for a joined row holding several models)."""
    names, _ = _columns(model, None)
    values = _convert(row[start : start + len(names)], _converters(model, tuple(names)))
    return model.from_db(connection.alias, names, values), start + len(names)


def _insert_values(instance: models.Model, fields) -> list:
    return [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]


@cache
def _insert_shape(model: type[models.Model], on_conflict_nothing: bool) -> tuple[list, str]:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    pk = model._meta.pk
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    conflict = " ON CONFLICT DO NOTHING" if on_conflict_nothing else ""
    sql = (
        f"INSERT INTO {_table(model)} ({columns}) VALUES ({placeholders}){conflict} "
        f"RETURNING {connection.ops.quote_name(pk.column)}"
    )
    return fields, sql


def row_insert(instance: models.Model, *, on_conflict_nothing: bool = False) -> bool:
    """Insert ``instance`` and set its primary key. With ``on_conflict_nothing`` a row that
    would break a unique constraint is not inserted (no error, no savepoint) and ``False`` is
    returned; the caller reads the existing row."""
    model = type(instance)
    fields, sql = _insert_shape(model, on_conflict_nothing)
    with connection.cursor() as cursor:
        cursor.execute(sql, _insert_values(instance, fields))
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return True


def rows_insert(instances: list[models.Model], *, on_conflict_nothing: bool = False) -> None:
    """Insert several instances of one model in one statement (primary keys not read back)."""
    if not instances:
        return
    model = type(instances[0])
    fields, _ = _insert_shape(model, on_conflict_nothing)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    conflict = " ON CONFLICT DO NOTHING" if on_conflict_nothing else ""
    sql = (
        f"INSERT INTO {_table(model)} ({columns}) VALUES "
        + ", ".join([row] * len(instances))
        + conflict
    )
    params = [value for instance in instances for value in _insert_values(instance, fields)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def row_update(instance: models.Model, fields: list[str]) -> int:
    """``UPDATE`` the named fields of a saved instance (``auto_now`` fields are refreshed)."""
    model = type(instance)
    meta = model._meta
    chosen = [meta.get_field(name) for name in fields]
    chosen += [
        f
        for f in meta.concrete_fields
        if getattr(f, "auto_now", False) and f.name not in fields and f.attname not in fields
    ]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in chosen)
    values = [f.get_db_prep_save(f.pre_save(instance, False), connection) for f in chosen]
    sql = (
        f"UPDATE {_table(model)} SET {assignments} "
        f"WHERE {connection.ops.quote_name(meta.pk.column)} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, instance.pk])
        return cursor.rowcount


# --- server-side prepared statements ----------------------------------------------------------
_UNDEFINED_STATEMENT = "26000"  # the session lost it (DISCARD ALL, a new server session)
_DUPLICATE_STATEMENT = "42P05"  # the session has it already (we did not know: a pooler)
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _sqlstate(error: BaseException) -> str | None:
    return getattr(error.__cause__, "sqlstate", None)


def _prepare(cursor, name: str, types: str, sql: str) -> None:
    try:
        cursor.execute(f"PREPARE {name}({types}) AS {sql}")
    except ProgrammingError as error:
        if _sqlstate(error) != _DUPLICATE_STATEMENT:
            raise


def execute_prepared(cursor, *, name: str, types: str, sql: str, params: list) -> None:
    """``EXECUTE`` the statement ``name`` (``sql`` with ``$1``… of ``types``), preparing it
    first on a database session that has not seen it: no parsing or planning per call.

    Autocommit only (a failed statement inside a transaction would abort the caller's). A session
    that lost the statement (``DISCARD ALL``) gets it again; one that has it already is used as
    it is. Behind a transaction-mode pooler ``PREPARE`` and ``EXECUTE`` may reach different
    server sessions: connect directly or through a session-mode pooler (docs/gate.md).
    """
    names = _prepared.setdefault(connection.connection, set())
    execute = f"EXECUTE {name}({', '.join(['%s'] * len(params))})"
    if name not in names:
        _prepare(cursor, name, types, sql)
        names.add(name)
    try:
        cursor.execute(execute, params)
    except ProgrammingError as error:
        if _sqlstate(error) != _UNDEFINED_STATEMENT:
            raise
        _prepare(cursor, name, types, sql)
        cursor.execute(execute, params)
