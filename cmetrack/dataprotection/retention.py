"""Retention: which children's records are past keeping, and anonymising them.

Rule (``CMETRACK_RETENTION_AGE_YEARS``, default 25): a child's record is kept until the
child's 25th birthday, and for as long as any of the child's cases is open (every state but
closed, dormant included). After that, :func:`retention_anonymise` removes what identifies
the child and keeps the rest (dates, states, outcomes) for the authority's statistics.
A child whose date of birth is not known is never anonymised automatically.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, OuterRef, QuerySet

from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.cases.lifecycle import OPEN_STATES
from cmetrack.cases.models import Case
from cmetrack.people.models import (
    Address,
    Child,
    ChildAlias,
    FormerUpn,
    ParentCarer,
    RestrictedAddressAccess,
    SiblingLink,
)

from .records import child_records

ANONYMISED = "Anonymised"
REDACTED = "[redacted]"
#: Rows that identify the child or the family and are deleted outright.
DELETED_MODELS: tuple[type[models.Model], ...] = (
    Address,
    ChildAlias,
    FormerUpn,
    ParentCarer,
    RestrictedAddressAccess,
    SiblingLink,
)


def retention_age_years() -> int:
    return int(getattr(settings, "CMETRACK_RETENTION_AGE_YEARS", 25))


def birthday(dob: dt.date, years: int) -> dt.date:
    """The date ``years`` after ``dob`` (29 February becomes 1 March)."""
    try:
        return dob.replace(year=dob.year + years)
    except ValueError:
        return dt.date(dob.year + years, 3, 1)


def latest_dob_past_retention(today: dt.date, years: int) -> dt.date:
    """Children born on or before this date have reached the retention age today."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # today is 29 February
        return dt.date(today.year - years, 2, 28)


def children_past_retention(today: dt.date) -> QuerySet[Child]:
    """Children past retention with no open case, not yet anonymised."""
    open_cases = Case.objects.filter(child_id=OuterRef("pk"), state__in=OPEN_STATES)
    return (
        Child.objects.filter(dob__isnull=False)
        .filter(dob__lte=latest_dob_past_retention(today, retention_age_years()))
        .exclude(Exists(open_cases))
        .exclude(legal_given_names=ANONYMISED)
        .order_by("dob", "pk")
    )


@dataclass(frozen=True)
class AnonymiseResult:
    children: int
    rows_deleted: int
    rows_redacted: int


def _free_text_fields(model: type[models.Model]) -> list[models.Field]:  # type: ignore[type-arg]
    """Fields a person typed (names, notes, contact details): text with no fixed choices;
    and structured documents (JSON: an enquiry's shared data set, a reply, search results),
    which hold the same details."""
    return [
        f
        for f in model._meta.concrete_fields
        if (
            isinstance(f, models.CharField | models.TextField)
            and not f.choices
            and not f.unique
            and not f.primary_key
        )
        or isinstance(f, models.JSONField)
    ]


def _redacted_value(f: models.Field) -> Any:  # type: ignore[type-arg]
    if f.null:
        return None
    if isinstance(f, models.JSONField):
        default = f.get_default()
        return [] if isinstance(default, list) else {}
    if f.blank or isinstance(f, models.EmailField):
        return ""
    return REDACTED[: f.max_length or len(REDACTED)]


def child_anonymise(*, actor: Actor, child: Child) -> tuple[int, int]:
    """Anonymise one child in place; returns (rows deleted, rows redacted). Audited."""
    records = child_records(child)
    deleted = 0
    for model in DELETED_MODELS:
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        ids = [r.pk for r in records.groups.pop(label, [])]
        if ids:
            deleted += model._default_manager.filter(pk__in=ids).delete()[0]
    redacted = 0
    for rows in records.groups.values():
        model = type(rows[0])
        fields = _free_text_fields(model)
        if fields:
            redacted += model._default_manager.filter(pk__in=[r.pk for r in rows]).update(
                **{f.name: _redacted_value(f) for f in fields}
            )
    Child.objects.filter(pk=child.pk).update(
        legal_given_names=ANONYMISED,
        legal_middle_names="",
        legal_family_name=ANONYMISED,
        dob=None,
        upn=None,
        gender="",
        ethnicity="",
        first_language="",
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=child,
        child_id=child.pk,
        summary="Anonymised: past the retention period",
        changes={"after": {"rows_deleted": deleted, "rows_redacted": redacted}},
    )
    return deleted, redacted


def retention_anonymise(*, actor: Actor, today: dt.date) -> AnonymiseResult:
    """Anonymise every child past retention, all in one transaction."""
    with transaction.atomic():
        children = list(children_past_retention(today).select_for_update())
        deleted = redacted = 0
        for child in children:
            d, r = child_anonymise(actor=actor, child=child)
            deleted += d
            redacted += r
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="people.child",
            summary=f"Retention run: anonymised {len(children)} children",
            changes={"after": {"children": [c.pk for c in children]}},
        )
    return AnonymiseResult(children=len(children), rows_deleted=deleted, rows_redacted=redacted)
