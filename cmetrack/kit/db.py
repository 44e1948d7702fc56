"""Writing many rows' fields at once, where Django's ``bulk_update`` is too slow.

``bulk_update`` builds one ``CASE WHEN pk = … THEN …`` expression for each field over every
row, which took over a second for a thousand alerts; :func:`update_fields_many` runs one
plain ``UPDATE … WHERE pk = %s`` statement for all the rows with ``executemany`` instead.
Values go through each field's own ``get_db_prep_save``, as ``save()`` would send them."""

from __future__ import annotations

from collections.abc import Sequence
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
    rows = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] + [obj.pk]
        for obj in objects
    ]
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
    rows = [
        [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
