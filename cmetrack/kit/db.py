"""Writing many rows' fields at once, where Django's ``bulk_update`` is too slow.

``bulk_update`` builds one ``CASE WHEN pk = … THEN …`` expression for each field over every
row, which took over a second for a thousand alerts; :func:`update_fields_many` runs one
plain ``UPDATE … WHERE pk = %s`` statement for all the rows with ``executemany`` instead.
Values go through each field's own ``get_db_prep_save``, as ``save()`` would send them,
once for each distinct plain value of a field (:func:`_column`: a thousand alerts written
at once share their school, rule, dates and timestamps)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models


def update_fields_many(objects: Sequence[models.Model], names: Sequence[str]) -> None:
    """Write the fields ``names`` of every object in ``objects`` (all of one model, each
    already saved) with one UPDATE statement run for them all."""
    if not objects:
        return
    meta = type(objects[0])._meta
    quote = connection.ops.quote_name
    fields: list[Any] = [meta.get_field(name) for name in names]
    sets = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote(str(meta.pk.column))} = %s"  # noqa: S608 - the model's own names
    values = [_column(f, objects, add=False) for f in fields]
    rows = list(zip(*values, [obj.pk for obj in objects], strict=True))
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def insert_many(objects: Sequence[models.Model]) -> None:
    """Insert ``objects`` (all of one model, none saved yet) with one INSERT statement run
    for them all. Unlike ``bulk_create`` it reads no ids back, so the objects keep ``pk``
    None; use it where nothing needs them afterwards."""
    if not objects:
        return
    meta = type(objects[0])._meta
    quote = connection.ops.quote_name
    fields: list[Any] = [f for f in meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(str(f.column)) for f in fields)
    values = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values})"  # noqa: S608 - the model's own names
    prepared = [_column(f, objects, add=True) for f in fields]
    rows = list(zip(*prepared, strict=True))
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


#: Values whose database form depends on the value alone (immutable, hashable).
_PLAIN = (str, int, float, bool, Decimal, dt.date, dt.datetime, dt.time, uuid.UUID, type(None))


def _column(field: Any, objects: Sequence[models.Model], *, add: bool) -> list[Any]:
    """``field``'s database value for each object (``add``: as an INSERT writes it, after
    ``pre_save``), ``get_db_prep_save`` run once for each distinct plain value (keyed
    with its type: ``1`` and ``True`` are not the same value) and for every other value
    (a JSON document, say) each time."""
    prepared: dict[tuple[type, Any], Any] = {}
    out = []
    for obj in objects:
        v = field.pre_save(obj, True) if add else getattr(obj, field.attname)
        if isinstance(v, _PLAIN):
            key = (type(v), v)
            if key not in prepared:
                prepared[key] = field.get_db_prep_save(v, connection)
            out.append(prepared[key])
        else:
            out.append(field.get_db_prep_save(v, connection))
    return out
