"""The one audited path for every change to, and every read of, a child's record.

Services of the other apps take an :class:`Actor` (who, from where) and call
:func:`audit_record` inside their own transaction, so a change and its audit row are
written together or not at all. :func:`audited_update` is the single way to change fields
of an audited record: it validates, saves only the changed fields and records before/after.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest

from .models import AuditAction, AuditEvent
from .reads import note_audited

if TYPE_CHECKING:
    from cmetrack.accounts.models import User

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from which address. ``user`` is None for system jobs."""

    user: User | None
    ip_address: str | None = None
    label: str = ""

    @property
    def display(self) -> str:
        if self.user is not None:
            return str(self.user.email)
        return self.label or "system"

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        user = request.user if request.user.is_authenticated else None
        return cls(user=user, ip_address=client_ip(request))

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(user=None, label=f"system: {label}")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address (behind a trusted proxy, core.middleware.TrustedProxyMiddleware has
    already put the client's own address in REMOTE_ADDR)."""
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None


def json_safe(value: Any) -> Any:
    """Turn a model field value into something JSONField stores and a person can read."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [json_safe(v) for v in value]
    return str(value)


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """Field values of ``instance`` (foreign keys as ids), JSON-safe."""
    concrete = [f for f in instance._meta.concrete_fields if not f.primary_key]
    wanted = set(fields) if fields is not None else None
    return {
        f.name: json_safe(getattr(instance, f.attname))
        for f in concrete
        if wanted is None or f.name in wanted
    }


def object_type_of(instance: models.Model) -> str:
    return f"{instance._meta.app_label}.{instance._meta.model_name}"


def audit_record(
    *,
    actor: Actor,
    action: AuditAction | str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int | None = None,
    child_id: int | None = None,
    summary: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row. Call inside the transaction of the change it records.

    The row is the model's own (its defaults, each value prepared by its field as
    ``save()`` prepares it) written with one INSERT statement whose text is built once per
    database connection (:func:`_insert_statement`), not compiled by the ORM on every call:
    a search writes one of these per query, and the ORM's compiling was most of its cost.
    The database's triggers apply as to any INSERT. No ``pre_save``/``post_save`` signal is
    sent (none is connected to audit rows; the list rows of ``audit.middleware`` are
    written by ``bulk_create``, which sends none either)."""
    if obj is not None:
        object_type = object_type or object_type_of(obj)
        object_id = obj.pk if object_id is None else object_id
    event = AuditEvent(
        actor=actor.user,
        actor_label=actor.display[:254],
        ip_address=actor.ip_address,
        action=str(action),
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        child_id=child_id,
        summary=summary[:300],
        changes=json_safe(dict(changes or {})),
    )
    using = router.db_for_write(AuditEvent, instance=event)
    connection = connections[using]
    sql, fields, returns_id = _insert_statement(connection)
    params = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in fields]
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        event.pk = (
            cursor.fetchone()[0]
            if returns_id
            else connection.ops.last_insert_id(cursor, AuditEvent._meta.db_table, "id")
        )
    event._state.adding = False
    event._state.db = using
    note_audited(str(action), child_id)
    return event


#: The INSERT statement of an audit row for each kind of database, built once.
_statements: dict[str, tuple[str, list[Any], bool]] = {}


def _insert_statement(connection: BaseDatabaseWrapper) -> tuple[str, list[Any], bool]:
    """``INSERT INTO audit_auditevent (…) VALUES (%s, …)`` over every column but the id,
    with ``RETURNING id`` where the database can (PostgreSQL; SQLite from 3.35); the
    fields in the order of the placeholders; whether the statement returns the id. The
    text never changes, so the driver's statement cache (sqlite3) or prepared statements
    (psycopg, after a few executions) reuse its plan."""
    key = f"{connection.vendor}:{connection.alias}"
    statement = _statements.get(key)
    if statement is None:
        meta = AuditEvent._meta
        quote = connection.ops.quote_name
        fields: list[Any] = [f for f in meta.concrete_fields if not f.primary_key]
        columns = ", ".join(quote(str(f.column)) for f in fields)
        values = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values})"  # noqa: S608 - the model's own names
        returns_id = bool(connection.features.can_return_columns_from_insert)
        if returns_id:
            returning, _params = connection.ops.return_insert_columns([meta.pk])
            sql = f"{sql} {returning}"
        statement = _statements[key] = (sql, fields, returns_id)
    return statement


def audited_create(
    *,
    actor: Actor,
    instance: M,
    child_id: int | None = None,
    summary: str = "",
    is_child_record: bool = False,
) -> M:
    """Validate and insert ``instance``, recording its initial values.

    ``is_child_record``: the instance is the child itself, so the audit row's child is the
    id the insert gives it.
    """
    with transaction.atomic():
        instance.full_clean()
        instance.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=instance,
            child_id=instance.pk if is_child_record else child_id,
            summary=summary or f"Created {instance._meta.verbose_name}",
            changes={"after": snapshot(instance)},
        )
    return instance


def audited_update(
    *,
    actor: Actor,
    instance: M,
    changes: Mapping[str, Any],
    child_id: int | None = None,
    summary: str = "",
    action: AuditAction = AuditAction.UPDATE,
) -> M:
    """Apply ``changes`` to ``instance``; save and audit only the fields that differ.

    Unknown field names raise ``ValueError`` before anything is written.
    """
    field_names = {f.name for f in instance._meta.concrete_fields}
    unknown = set(changes) - field_names
    if unknown:
        raise ValueError(f"Unknown fields for {object_type_of(instance)}: {sorted(unknown)}")
    before = snapshot(instance, changes)
    for name, value in changes.items():
        setattr(instance, name, value)
    after = snapshot(instance, changes)
    changed = [name for name in changes if before[name] != after[name]]
    if not changed:
        return instance
    with transaction.atomic():
        instance.full_clean()
        instance.save(update_fields=changed)
        audit_record(
            actor=actor,
            action=action,
            obj=instance,
            child_id=child_id,
            summary=summary or f"Changed {', '.join(changed)}",
            changes={
                "before": {k: before[k] for k in changed},
                "after": {k: after[k] for k in changed},
            },
        )
    return instance
