"""Hand-built cases with their state history, for the report tests (synthetic data only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from cmetrack.cases.models import Case, CaseStateChange
from cmetrack.cases.tests.factories import CaseFactory
from cmetrack.people.models import Child


def noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


def case_with_history(
    *, child: Child, referred: dt.date, history: list[tuple[str, dt.date]], **fields: Any
) -> Case:
    """A case whose state history is ``history`` ((state, day) in order, each change at
    noon), whose current state is the last one, referred on ``referred``."""
    case = CaseFactory.create(child=child, date_referred=referred, state=history[-1][0], **fields)
    previous = ""
    for state, day in history:
        CaseStateChange.objects.create(case=case, from_state=previous, to_state=state, at=noon(day))
        previous = state
    return case
