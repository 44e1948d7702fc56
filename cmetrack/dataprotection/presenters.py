"""The subject access export as a readable, printable page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.utils import timezone

from cmetrack.audit.presenters import when
from cmetrack.kit.dates import govuk_date
from cmetrack.people.models import Address

from .selectors import SubjectAccess


def display(instance: models.Model, f: models.Field) -> str:  # type: ignore[type-arg]
    value = getattr(instance, f.name)
    if value is None or value == "":
        return ""
    if f.choices:
        return str(getattr(instance, f"get_{f.name}_display")())
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return f"{govuk_date(local)} {local:%H:%M}"
    if isinstance(value, dt.date):
        return govuk_date(value)
    return str(value)


@dataclass(frozen=True)
class Record:
    rows: list[tuple[str, str]]
    restricted: bool = False


@dataclass(frozen=True)
class Section:
    title: str
    records: list[Record]


def record_of(instance: models.Model) -> Record:
    rows = [
        (str(f.verbose_name).capitalize(), display(instance, f))
        for f in instance._meta.concrete_fields
        if not f.primary_key
    ]
    restricted = isinstance(instance, Address) and instance.is_restricted
    return Record(rows=[(k, v) for k, v in rows if v], restricted=restricted)


@dataclass(frozen=True)
class SubjectAccessPresenter:
    sar: SubjectAccess

    @property
    def child_record(self) -> Record:
        return record_of(self.sar.child)

    @property
    def sections(self) -> list[Section]:
        out = []
        for rows in self.sar.records.groups.values():
            title = str(type(rows[0])._meta.verbose_name_plural).capitalize()
            out.append(Section(title=title, records=[record_of(r) for r in rows]))
        return out

    @property
    def viewers(self) -> list[tuple[str, str]]:
        return [(when(e), e.actor_label) for e in self.sar.viewers]

    @property
    def produced(self) -> str:
        now = timezone.localtime()
        return f"{govuk_date(now)} {now:%H:%M}"
