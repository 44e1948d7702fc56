"""Writes of the registers the authority keeps about children (audited)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction

from cmetrack.audit.services import Actor, audited_create
from cmetrack.people.models import Child

from .models import HomeEducationRecord

if TYPE_CHECKING:
    from cmetrack.cases.models import Case


@transaction.atomic
def home_education_record_add(
    *, actor: Actor, child: Child, started_on: dt.date, source: str, case: Case | None = None
) -> HomeEducationRecord:
    """Put ``child`` on the home-education list; a child already on it stays as they are."""
    current = (
        HomeEducationRecord.objects.select_for_update()
        .filter(child=child, ended_on__isnull=True)
        .first()
    )
    if current is not None:
        return current
    record = HomeEducationRecord(child=child, started_on=started_on, source=source, case=case)
    return audited_create(
        actor=actor, instance=record, child_id=child.pk, summary="Added to the home-education list"
    )
